"""Redis stopped, frozen (SIGSTOP) or flapping: every read still answers, as a BYPASS, fast."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Iterator

import pytest
import redis

from courses_api.cache.api import CacheOutcome
from courses_api.cache.guard import BreakerState, CircuitBreaker
from courses_api.cache.manager import RedisCacheManager
from tests.integration.cache.conftest import (
    THING,
    CountingLoader,
    RecordingMetrics,
    Thing,
    fast_client,
    make_manager,
)
from tests.support.clock import FakeClock
from tests.support.services import LocalRedis, start_redis_server

TIMEOUT_MS = 50


def state_of(breaker: CircuitBreaker) -> BreakerState:
    """The breaker's state, read afresh (mypy would keep a narrowed ``breaker.state`` across calls)."""
    return breaker.state



@pytest.fixture
def client(dedicated_redis: LocalRedis) -> Iterator[redis.Redis]:
    client = fast_client(dedicated_redis.url, TIMEOUT_MS)
    yield client
    client.close()


def _manager(client: redis.Redis, metrics: RecordingMetrics, **overrides: object) -> RedisCacheManager:
    overrides.setdefault("logger", logging.getLogger("test.cache"))
    return make_manager(client, metrics, near_ttl_s=0, **overrides)


def _freeze(server: LocalRedis) -> None:
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGSTOP)


def _thaw(server: LocalRedis) -> None:
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGCONT)


def test_redis_stopped_reads_bypass_and_breaker_opens(
    dedicated_redis: LocalRedis, client: redis.Redis, metrics: RecordingMetrics, caplog: pytest.LogCaptureFixture
) -> None:
    manager = _manager(client, metrics, failure_threshold=3, cooldown_s=60)
    loader = CountingLoader(Thing(id="c1", version=1))
    assert manager.fetch_item("c1", loader, THING).outcome is CacheOutcome.MISS

    dedicated_redis.stop()
    with caplog.at_level(logging.WARNING, logger="test.cache"):
        outcomes = [manager.fetch_item("c1", loader, THING).outcome for _ in range(50)]

    assert set(outcomes) == {CacheOutcome.BYPASS}
    assert state_of(manager.breaker) is BreakerState.OPEN
    assert metrics.counts["CacheError"] == 3, "after 3 failures the breaker stops trying"
    assert metrics.counts["BreakerOpen"] == 1
    assert metrics.counts["CacheBypass"] == 50
    assert loader.calls == 51
    assert any(getattr(r, "breaker_to", None) == "open" for r in caplog.records)
    assert manager.health().status == "degraded"


def test_redis_frozen_costs_one_timeout_per_failure_then_nothing(
    dedicated_redis: LocalRedis, client: redis.Redis, metrics: RecordingMetrics
) -> None:
    """Counted, not timed (what a timeout costs is a benchmark figure: ``docs/BENCHMARKS.md``)."""
    manager = _manager(client, metrics, failure_threshold=3, cooldown_s=60, clock=FakeClock())
    loader = CountingLoader(Thing(id="c1", version=1))
    manager.fetch_item("c1", loader, THING)
    _freeze(dedicated_redis)
    try:
        outcomes = [manager.fetch_item("c1", loader, THING).outcome for _ in range(200)]
        assert manager.health().status == "degraded"
    finally:
        _thaw(dedicated_redis)

    assert set(outcomes) == {CacheOutcome.BYPASS}
    assert metrics.counts["CacheError"] == 3, "three reads waited out a timeout; the breaker spared the rest"
    assert metrics.counts["BreakerOpen"] == 1


def test_breaker_half_opens_after_cooldown_with_a_single_probe_and_closes(
    dedicated_redis: LocalRedis, client: redis.Redis, metrics: RecordingMetrics, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    manager = _manager(client, metrics, failure_threshold=2, cooldown_s=0.3, clock=clock)
    loader = CountingLoader(Thing(id="c1", version=1))
    _freeze(dedicated_redis)
    try:
        for _ in range(3):
            manager.fetch_item("c1", loader, THING)
        assert state_of(manager.breaker) is BreakerState.OPEN
        clock.advance(0.35)

        # While frozen, after the cool-down: 16 concurrent reads, only one probes (and times out)
        errors = metrics.counts["CacheError"]
        threads = [threading.Thread(target=lambda: manager.fetch_item("c1", loader, THING)) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert metrics.counts["CacheError"] == errors + 1, "one probe reached Redis"
        assert state_of(manager.breaker) is BreakerState.OPEN, "a failed probe re-opens the breaker"
    finally:
        _thaw(dedicated_redis)

    clock.advance(0.35)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="test.cache"):
        outcome = manager.fetch_item("c1", loader, THING).outcome  # the probe succeeds
    assert outcome is CacheOutcome.MISS
    assert state_of(manager.breaker) is BreakerState.CLOSED
    assert manager.fetch_item("c1", loader, THING).outcome is CacheOutcome.HIT
    assert [r.breaker_to for r in caplog.records if hasattr(r, "breaker_to")] == ["half_open", "closed"]
    assert manager.health().status == "ok"
    assert metrics.counts["BreakerOpen"] == 2


def test_invalidate_never_raises_and_says_redis_did_not_take_it(
    dedicated_redis: LocalRedis, client: redis.Redis, metrics: RecordingMetrics
) -> None:
    # Given v1 cached in Redis
    manager = _manager(client, metrics, failure_threshold=1, cooldown_s=0.2)
    manager.fetch_item("c1", CountingLoader(Thing(id="c1", version=1)), THING)
    _freeze(dedicated_redis)
    try:
        # When a write commits v2 and invalidates while Redis is frozen
        assert manager.invalidate(["c1"], [], fences={"c1": "2"}) is False, "Redis did not take it, and says so"
        assert manager.invalidate(["c1"], [], fences={"c1": "2"}) is False  # breaker open now: no wait at all
    finally:
        _thaw(dedicated_redis)
    # (nothing is queued in the container: the stream invalidator retries the write's record
    # until Redis takes it, tests/integration/test_stream_invalidator.py)


def test_redis_restarted_on_same_port_is_used_again(
    dedicated_redis: LocalRedis, client: redis.Redis, metrics: RecordingMetrics
) -> None:
    clock = FakeClock()
    manager = _manager(client, metrics, failure_threshold=1, cooldown_s=0.2, clock=clock)
    port = dedicated_redis.port
    dedicated_redis.stop()
    assert manager.fetch_item("c1", CountingLoader(Thing(id="c1", version=1)), THING).outcome is CacheOutcome.BYPASS
    restarted = start_redis_server(port)
    try:
        clock.advance(0.25)  # past the breaker's cool-down
        assert manager.fetch_item("c1", CountingLoader(Thing(id="c1", version=1)), THING).outcome is CacheOutcome.MISS
        assert manager.fetch_item("c1", CountingLoader(None), THING).outcome is CacheOutcome.HIT
    finally:
        restarted.stop()


def test_unreachable_host_at_cold_start_is_a_bypass(metrics: RecordingMetrics) -> None:
    from tests.support.services import free_port

    client = fast_client(f"redis://127.0.0.1:{free_port()}/0", TIMEOUT_MS)
    manager = _manager(client, metrics)
    result = manager.fetch_item("c1", CountingLoader(Thing(id="c1", version=1)), THING)
    assert (result.outcome, result.value) == (CacheOutcome.BYPASS, Thing(id="c1", version=1))
    assert manager.health().status == "degraded"


def test_redis_down_a_hot_key_costs_one_load_per_near_ttl(
    dedicated_redis: LocalRedis, client: redis.Redis, metrics: RecordingMetrics
) -> None:
    # Given Redis stopped and a near cache of 1 s on a clock the test drives
    clock = FakeClock()
    manager = make_manager(
        client,
        metrics,
        near_ttl_s=1.0,
        failure_threshold=1,
        cooldown_s=60,
        logger=logging.getLogger("test.cache"),
        clock=clock,
    )
    loader = CountingLoader(Thing(id="hot", version=1))
    dedicated_redis.stop()

    # When one container reads a hot key 100 times within its near TTL, then once after it
    outcomes = [manager.fetch_item("hot", loader, THING).outcome for _ in range(100)]
    clock.advance(1.01)
    manager.fetch_item("hot", loader, THING)

    # Then the first read loads (a bypass), the other 99 come from the near cache, and the TTL still bounds it
    assert outcomes[0] is CacheOutcome.BYPASS
    assert set(outcomes[1:]) == {CacheOutcome.HIT}
    assert loader.calls == 2
