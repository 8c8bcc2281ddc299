"""A cached value as stored: one kind byte, then pydantic's JSON, zlib-compressed from 1 KB.

Kinds: ``J`` JSON, ``Z`` zlib, ``N`` negative (the loader found nothing). Compression earns its
place in ElastiCache Serverless's bill, which counts 1 ECPU per KB a command transfers: the
benchmark's 1.3 KB course is stored in 0.3 KB (``benchmarks/cache_bench.py``'s sample course).
"""

from __future__ import annotations

import zlib
from typing import TypeVar

from pydantic import TypeAdapter

T = TypeVar("T")

JSON = b"J"
ZLIB = b"Z"
NEGATIVE = b"N"


class CodecError(ValueError):
    """A stored value that cannot be decoded (corrupt, or written by other code)."""


class Codec:
    """Encodes with a pydantic ``TypeAdapter`` so models round-trip exactly. Both directions
    also give the serialised size, what the near cache charges for the value."""

    def __init__(self, compress_threshold: int = 1024, level: int = 1) -> None:
        self.compress_threshold = compress_threshold
        self.level = level

    def encode(self, value: T | None, adapter: TypeAdapter[T]) -> tuple[bytes, int]:
        if value is None:
            return NEGATIVE, 0
        payload = adapter.dump_json(value)
        if len(payload) >= self.compress_threshold:
            compressed = zlib.compress(payload, self.level)
            if len(compressed) < len(payload):
                return ZLIB + compressed, len(payload)
        return JSON + payload, len(payload)

    def decode(self, data: bytes, adapter: TypeAdapter[T]) -> tuple[T | None, int]:
        kind, body = data[:1], memoryview(data)[1:]
        if kind == NEGATIVE:
            return None, 0
        try:
            if kind == ZLIB:
                payload = zlib.decompress(body)
            elif kind == JSON:
                payload = bytes(body)
            else:
                raise CodecError(f"unknown cached value kind {kind!r}")
            return adapter.validate_json(payload), len(payload)
        except (zlib.error, ValueError) as exc:  # pydantic.ValidationError is a ValueError
            raise CodecError(str(exc)) from exc
