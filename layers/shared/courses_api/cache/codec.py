"""Serialise a cached value once: pydantic JSON, zlib-compressed above a threshold.

Layout of a stored value: one kind byte (``J`` JSON, ``Z`` zlib, ``N`` negative: the
loader returned None), a format byte ``1``, the recompute time in ms (uint32, for XFetch)
and the wall-clock time in ms at which the filler set the entry to expire (uint64), then
the payload. Carrying the expiry in the value lets a plain ``GET`` answer a hit *and*
decide on an early refresh, with no ``PTTL`` (or Lua) round trip; the fill's kind, delta
and expiry together also identify that one fill (see ``scripts.REFRESH``).

The first layout had no format byte: kind, uint32 delta, payload. Its second byte is the
delta's top byte, 0 for any delta under 4.6 hours (a Lambda runs at most 15 minutes), so
those entries are still read (as "expiry unknown": never refreshed early) while they age
out after a deploy. Code of the first layout reads a new entry as undecodable (a counted
bypass), never as a wrong value.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import TypeAdapter

T = TypeVar("T")

_HEADER = struct.Struct(">cBIQ")  # kind, format, delta_ms, expires_at_ms
_LEGACY_HEADER = struct.Struct(">cI")  # kind, delta_ms
FORMAT_STAMPED = 1
HEADER_SIZE = _HEADER.size
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
    """A decoded value, its recompute time, its fill's expiry and header, and its size.

    ``expires_at_ms`` is 0 when unknown (first layout); ``stamp`` is the header bytes,
    which identify the fill that wrote this value.
    """

    value: T | None
    delta_ms: int
    raw_size: int
    expires_at_ms: int = 0
    stamp: bytes = b""


class Codec:
    """Encodes with a pydantic ``TypeAdapter`` so models round-trip exactly."""

    def __init__(self, compress_threshold: int = 1024, level: int = 1) -> None:
        self.compress_threshold = compress_threshold
        self.level = level

    def encode(self, value: T | None, adapter: TypeAdapter[T], delta_ms: float, expires_at_ms: int = 0) -> Encoded:
        """``expires_at_ms``: wall-clock ms at which the entry expires (0: not known)."""
        delta = min(max(int(delta_ms), 0), MAX_DELTA_MS)
        expires = max(int(expires_at_ms), 0)
        if value is None:
            return Encoded(_HEADER.pack(NEGATIVE, FORMAT_STAMPED, delta, expires), 0)
        payload = adapter.dump_json(value)
        kind = JSON
        body = payload
        if len(payload) >= self.compress_threshold:
            compressed = zlib.compress(payload, self.level)
            if len(compressed) < len(payload):
                kind, body = ZLIB, compressed
        return Encoded(_HEADER.pack(kind, FORMAT_STAMPED, delta, expires) + body, len(payload))

    def decode(self, data: bytes, adapter: TypeAdapter[T]) -> Decoded[T]:
        if len(data) >= HEADER_SIZE and data[1] == FORMAT_STAMPED:
            kind, _, delta, expires = _HEADER.unpack_from(data)
            size = HEADER_SIZE
        elif len(data) >= _LEGACY_HEADER.size:
            kind, delta = _LEGACY_HEADER.unpack_from(data)
            expires, size = 0, _LEGACY_HEADER.size
        else:
            raise CodecError("cached value shorter than its header")
        stamp = bytes(data[:size])
        if kind == NEGATIVE:
            return Decoded(None, delta, 0, expires, stamp)
        body = memoryview(data)[size:]
        try:
            if kind == ZLIB:
                payload = zlib.decompress(body)
            elif kind == JSON:
                payload = bytes(body)
            else:
                raise CodecError(f"unknown cached value kind {kind!r}")
            return Decoded(adapter.validate_json(payload), delta, len(payload), expires, stamp)
        except (zlib.error, ValueError) as exc:  # pydantic.ValidationError is a ValueError
            raise CodecError(str(exc)) from exc
