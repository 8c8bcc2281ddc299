"""The near cache: a small, short-lived LRU in the function's own memory.

Bounded by entries and by bytes (the serialised size of each value), entries live
``ttl_s`` seconds. Other containers cannot reach it, so its staleness after a write made
elsewhere is bounded by that TTL; writes made in this container drop entries at once.
Values are shared between readers, so callers must treat them as read-only.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

_MISSING = object()


@dataclass(slots=True)
class _Entry:
    value: object
    expires_at: float
    size: int
    group: str
    group_epoch: int


@dataclass(frozen=True, slots=True)
class NearStats:
    entries: int
    bytes: int
    hits: int
    misses: int


class NearCache:
    """LRU with a TTL, an entry bound, a byte bound and per-group invalidation."""

    def __init__(
        self,
        ttl_s: float,
        max_entries: int,
        max_bytes: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._group_epochs: dict[str, int] = {}
        self._epoch = 0  # bumped by every local invalidation
        self._hits = 0
        self._misses = 0

    @property
    def enabled(self) -> bool:
        return self.ttl_s > 0

    @property
    def epoch(self) -> int:
        """Read before going to Redis; pass to :meth:`put` so a racing invalidation wins."""
        return self._epoch

    def get(self, key: str) -> tuple[bool, object]:
        """``(True, value)`` for a live entry, ``(False, None)`` otherwise."""
        if self.ttl_s <= 0:
            return False, None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self._misses += 1
                return False, None
            if entry.expires_at <= self._clock() or entry.group_epoch != self._group_epochs.get(entry.group, 0):
                self._drop(key, entry)
                self._misses += 1
                return False, None
            self._entries.move_to_end(key)
            self._hits += 1
            return True, entry.value

    def put(self, key: str, value: object, size: int, *, group: str = "", epoch: int | None = None) -> None:
        """Store ``value`` unless a local invalidation happened since ``epoch`` was read."""
        if self.ttl_s <= 0 or size > self.max_bytes:
            return
        with self._lock:
            if epoch is not None and epoch != self._epoch:
                return
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._entries[key] = _Entry(
                value, self._clock() + self.ttl_s, size, group, self._group_epochs.get(group, 0)
            )
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size

    def invalidate(self, keys: list[str], groups: list[str]) -> None:
        """Drop ``keys`` and every entry of ``groups`` (O(1) per group)."""
        with self._lock:
            self._epoch += 1
            for key in keys:
                entry = self._entries.pop(key, None)
                if entry is not None:
                    self._bytes -= entry.size
            for group in groups:
                self._group_epochs[group] = self._group_epochs.get(group, 0) + 1

    def clear(self) -> None:
        with self._lock:
            self._epoch += 1
            self._entries.clear()
            self._bytes = 0
            self._group_epochs.clear()

    def stats(self) -> NearStats:
        with self._lock:
            return NearStats(len(self._entries), self._bytes, self._hits, self._misses)

    def _drop(self, key: str, entry: _Entry) -> None:
        del self._entries[key]
        self._bytes -= entry.size
