"""A per-container circuit breaker around Redis.

Closed: every call goes to Redis; ``failure_threshold`` consecutive failures open it.
Open: Redis is skipped (reads bypass to the loader) for ``cooldown_s``.
Half-open: after the cool-down exactly one caller is let through as a probe; its success
closes the breaker, its failure re-opens it for another cool-down.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


StateListener = Callable[[BreakerState, BreakerState, str], None]


class CircuitBreaker:
    """Thread-safe; ``on_change(old, new, reason)`` is called outside the lock."""

    def __init__(
        self,
        failure_threshold: int = 3,
        cooldown_s: float = 5.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: StateListener | None = None,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self.on_change = on_change
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0

    @property
    def state(self) -> BreakerState:
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def allow(self) -> bool:
        """Whether this caller may use Redis now (at most one probe while half-open)."""
        if self.state is BreakerState.CLOSED:  # fast path, no lock
            return True
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return True
            if self._state is BreakerState.OPEN:
                if self._clock() - self._opened_at < self.cooldown_s:
                    return False
                self._state = BreakerState.HALF_OPEN
                self._opened_at = self._clock()  # the probe's start, to detect a lost probe
                change = (BreakerState.OPEN, BreakerState.HALF_OPEN, "cool-down elapsed; probing")
            elif self._clock() - self._opened_at < self.cooldown_s:
                return False  # half-open: only the probe goes through
            else:  # the probe never reported back (e.g. its caller died): let another one try
                self._opened_at = self._clock()
                return True
        self._notify(*change)
        return True

    def record_success(self) -> None:
        if self._state is BreakerState.CLOSED and self._failures == 0:
            return
        with self._lock:
            old = self._state
            self._state = BreakerState.CLOSED
            self._failures = 0
        if old is not BreakerState.CLOSED:
            self._notify(old, BreakerState.CLOSED, "probe succeeded")

    def record_failure(self, reason: str = "") -> None:
        with self._lock:
            old = self._state
            self._failures += 1
            if old is BreakerState.HALF_OPEN or (
                old is BreakerState.CLOSED and self._failures >= self.failure_threshold
            ):
                self._state = BreakerState.OPEN
                self._opened_at = self._clock()
            new = self._state
        if new is not old:
            self._notify(old, new, reason)

    def _notify(self, old: BreakerState, new: BreakerState, reason: str) -> None:
        if self.on_change is not None:
            self.on_change(old, new, reason)
