"""Replay a trace in virtual time: one simulated clock for the cache and the trace.

A replay at wall pace serves 32,000 requests in about 100 s, faster than production's
100 requests/s, so a TTL behaves as if traffic were ten times denser than it is. Here
request *i* starts at ``i / rps`` seconds of a :class:`VirtualClock`, and the same clock
is every clock the cache reads (:class:`~courses_api.cache.config.SystemClock` is pointed
at it for the replay): the near cache's TTL, the generation seeds, lease waits and the
breaker's cool-down. The clock stands still while a request runs: every figure but
handler latency (still measured on the wall clock, and labelled so) is the same on every
run and at any machine speed.

Redis keeps expiring keys on its own (wall) clock. :func:`redis_expiries_due` checks,
for each replay, that neither clock reaches the shortest TTL a fill can set (the TTL
less its jitter) within the replay, so Redis's expiry decisions are the same in both:
none. A pace slow enough for a TTL to close inside the trace is refused rather than
replayed with the wrong expiries.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator, Sequence
from typing import Any

from benchmarks.stats import Sample
from benchmarks.workload import Request

EPOCH_S = 1_800_000_000.0  # where virtual time starts (2027-01-15): far from the wall clock on purpose


class VirtualClock:
    """A :class:`~courses_api.cache.config.Clock` that moves only when told to (or slept on)."""

    def __init__(self, start: float = EPOCH_S) -> None:
        self.start = start
        self.now = start

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        """A lease poll waits in virtual time (a replay is one thread: nobody else fills meanwhile)."""
        self.now += max(0.0, seconds)

    def at(self, offset_s: float) -> None:
        """Move to ``offset_s`` after the start, never backwards."""
        self.now = max(self.now, self.start + offset_s)


@contextlib.contextmanager
def driving(clock: VirtualClock) -> Iterator[VirtualClock]:
    """Point the cache's system clock at ``clock`` for the duration (managers built inside use it)."""
    from courses_api.cache.config import SystemClock

    saved = {name: SystemClock.__dict__[name] for name in ("monotonic", "time", "sleep")}
    SystemClock.monotonic = lambda self: clock.monotonic()  # type: ignore[method-assign]
    SystemClock.time = lambda self: clock.time()  # type: ignore[method-assign]
    SystemClock.sleep = lambda self, seconds: clock.sleep(seconds)  # type: ignore[method-assign]
    try:
        yield clock
    finally:
        for name, function in saved.items():
            setattr(SystemClock, name, function)


def paced(samples: Sequence[Sample], clock: VirtualClock) -> list[Sample]:
    """``samples`` with their start times rebased to virtual seconds (the trace's clock)."""
    return [dataclasses.replace(sample, started=sample.started - clock.start) for sample in samples]


def replay(
    handlers: dict[str, Any], requests: Sequence[Request], clock: VirtualClock, rps: float, *, first: int = 0
) -> list[Sample]:
    """Serve ``requests`` one after another, request *i* at virtual second ``(first + i) / rps``.

    A sample's ``started`` is its virtual start time (seconds since the clock's start);
    its ``ms`` is wall-clock handler time.
    """
    from benchmarks.tiers import invoke

    samples: list[Sample] = []
    for index, request in enumerate(requests):
        clock.at((first + index) / rps)
        started = clock.now - clock.start
        samples.append(dataclasses.replace(invoke(handlers[request.function], request), started=started))
    return samples


def shortest_ttl_s(ttls_s: dict[str, float], jitter: float) -> float:
    """The shortest time a filled entry can live: the least TTL less its largest jitter."""
    return min(ttls_s.values()) * (1 - jitter)


def redis_expiries_due(virtual_span_s: float, wall_span_s: float, ttls_s: dict[str, float], jitter: float) -> int:
    """0 when no Redis entry can expire within the replay on either clock; raises otherwise.

    Entries are filled no earlier than the replay's start, and the shortest one lives
    :func:`shortest_ttl_s`; both spans below it mean Redis (wall clock) and the model
    (virtual clock) agree that nothing expired.
    """
    bound = shortest_ttl_s(ttls_s, jitter)
    for name, span in (("virtual", virtual_span_s), ("wall", wall_span_s)):
        if span >= bound:
            raise ValueError(
                f"the replay spans {span:.0f} s of {name} time, past the shortest TTL ({bound:.0f} s): "
                "Redis would expire entries on the wall clock that the virtual clock has not, or the reverse"
            )
    return 0


def timed_wall() -> float:
    """The wall clock a replay's span is measured on."""
    return time.perf_counter()


def run_tier_at_pace(
    name: str, env: dict[str, str], warmup: Sequence[Request], measured: Sequence[Request], rps: float
) -> tuple[Any, float]:
    """One product tier (fresh containers) on the virtual clock: ``(TierStats, wall seconds)``."""
    from benchmarks.stats import RedisUsage, TierStats
    from benchmarks.tiers import PRODUCT_FUNCTIONS, Discard, environment
    from local.invoke import load_function

    clock = VirtualClock()
    with environment(env), driving(clock), contextlib.redirect_stdout(Discard()):
        handlers = {fn: load_function(fn).lambda_handler for fn in PRODUCT_FUNCTIONS}
        started = timed_wall()
        warm = replay(handlers, warmup, clock, rps)
        samples = replay(handlers, measured, clock, rps, first=len(warmup))
        wall_s = timed_wall() - started
    return TierStats(name, samples, {}, RedisUsage(), wall_s, warm), wall_s
