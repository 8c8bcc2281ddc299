"""A clock the tests drive: the cache's ``Clock`` (and anything taking a ``monotonic`` or ``time``
callable) without wall-clock waits, so no test depends on the machine's speed."""

from __future__ import annotations

import threading


class FakeClock:
    """Starts at a fixed instant; moves only when told to (``advance``) or slept on (``sleep``)."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self._now

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += max(seconds, 0.0)
