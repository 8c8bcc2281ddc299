"""The near cache: a small, short-lived LRU in the function's own memory.

It earns its place on the hot path: a near hit cost 0.011 ms at p50 against 0.166 ms for a
Redis hit in the benchmark run of 2026-12-02 (``docs/BENCHMARKS.md``, cache mechanics), and
with Redis down a hot course costs one database read per container per near TTL instead of
one per request (``benchmarks/hot_course.py``).
Other containers cannot reach it, so its staleness after a write made elsewhere is bounded by
its TTL (1 s); writes made in this container drop their entries at once. A read racing a
local write may put back the value it read: that is the same 1 s bound, so no epoch guards it.
Bounded by entries and by bytes (each value's serialised size). ``cachetools`` would give
the LRU and TTL but not the byte bound or the drop by prefix, so these 50 lines stay.
Values are shared between readers: callers treat them as read-only.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

ENTRY_OVERHEAD = 64  # bytes charged per entry on top of its serialised size


class NearCache:
    """LRU with a TTL, an entry bound and a byte bound; drops keys singly or by prefix."""

    def __init__(
        self, ttl_s: float, max_entries: int, max_bytes: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._clock = clock
        self._entries: OrderedDict[str, tuple[object, float, int]] = OrderedDict()  # value, expiry, size
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bool, object]:
        """``(True, value)`` for a live entry, ``(False, None)`` otherwise."""
        if self.ttl_s <= 0:
            return False, None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False, None
            if entry[1] <= self._clock():
                self._drop(key)
                return False, None
            self._entries.move_to_end(key)
            return True, entry[0]

    def put(self, key: str, value: object, raw_size: int) -> None:
        size = raw_size + ENTRY_OVERHEAD
        if self.ttl_s <= 0 or size > self.max_bytes:
            return
        with self._lock:
            self._drop(key)
            self._entries[key] = (value, self._clock() + self.ttl_s, size)
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))

    def invalidate(self, keys: Iterable[str], prefixes: Iterable[str] = ()) -> None:
        """Drop ``keys`` and every entry whose key starts with one of ``prefixes`` (a list's pages)."""
        starts = tuple(prefixes)
        with self._lock:
            for key in [*keys, *(k for k in self._entries if starts and k.startswith(starts))]:
                self._drop(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def stats(self) -> tuple[int, int]:
        """Entries held and the bytes charged for them."""
        with self._lock:
            return len(self._entries), self._bytes

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= entry[2]
