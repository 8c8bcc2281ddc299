"""Serialise a cached value once: pydantic JSON, zlib-compressed above a threshold.

Layout of a stored value: one kind byte, the recompute time in ms (uint32, for XFetch
early refresh), then the payload. ``N`` is a negative entry (the loader returned None).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import TypeAdapter

T = TypeVar("T")

_HEADER = struct.Struct(">cI")
JSON = b"J"
ZLIB = b"Z"
NEGATIVE = b"N"
MAX_DELTA_MS = 0xFFFFFFFF


class CodecError(ValueError):
    """A stored value that cannot be decoded (corrupt, or written by other code)."""


@dataclass(frozen=True, slots=True)
class Encoded:
    """The bytes stored in Redis and the size charged to the near cache."""

    data: bytes
    raw_size: int


@dataclass(frozen=True, slots=True)
class Decoded(Generic[T]):
    """A decoded value, its recompute time and the size charged to the near cache."""

    value: T | None
    delta_ms: int
    raw_size: int


class Codec:
    """Encodes with a pydantic ``TypeAdapter`` so models round-trip exactly."""

    def __init__(self, compress_threshold: int = 1024, level: int = 1) -> None:
        self.compress_threshold = compress_threshold
        self.level = level

    def encode(self, value: T | None, adapter: TypeAdapter[T], delta_ms: float) -> Encoded:
        delta = min(max(int(delta_ms), 0), MAX_DELTA_MS)
        if value is None:
            return Encoded(_HEADER.pack(NEGATIVE, delta), 0)
        payload = adapter.dump_json(value)
        kind = JSON
        body = payload
        if len(payload) >= self.compress_threshold:
            compressed = zlib.compress(payload, self.level)
            if len(compressed) < len(payload):
                kind, body = ZLIB, compressed
        return Encoded(_HEADER.pack(kind, delta) + body, len(payload))

    def decode(self, data: bytes, adapter: TypeAdapter[T]) -> Decoded[T]:
        if len(data) < _HEADER.size:
            raise CodecError("cached value shorter than its header")
        kind, delta = _HEADER.unpack_from(data)
        body = memoryview(data)[_HEADER.size :]
        if kind == NEGATIVE:
            return Decoded(None, delta, 0)
        try:
            if kind == ZLIB:
                payload = zlib.decompress(body)
            elif kind == JSON:
                payload = bytes(body)
            else:
                raise CodecError(f"unknown cached value kind {kind!r}")
            return Decoded(adapter.validate_json(payload), delta, len(payload))
        except (zlib.error, ValueError) as exc:  # pydantic.ValidationError is a ValueError
            raise CodecError(str(exc)) from exc
