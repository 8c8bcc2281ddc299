"""``fetch_items``: many items in a fixed number of round trips, with the single-item path's guarantees."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

import pytest
import redis
from redis.cluster import RedisCluster

from courses_api.cache.api import CacheOutcome, NullCache
from tests.integration.cache.conftest import (
    THING,
    ManagerFactory,
    RecordingMetrics,
    Thing,
    fast_client,
    key_space,
    make_manager,
)
from tests.support.services import LocalRedis


class BatchLoader:
    """The BatchGetItem stand-in: records each call's ids and consistency, returns rows found."""

    def __init__(self, database: Mapping[str, Thing]) -> None:
        self.database = database
        self.calls: list[tuple[list[str], bool]] = []
        self.before_return: threading.Event | None = None  # set: pause after reading, before returning
        self.loaded = threading.Event()

    def __call__(self, item_ids: Sequence[str], /, *, consistent: bool) -> dict[str, Thing]:
        self.calls.append((list(item_ids), consistent))
        rows = {i: self.database[i] for i in item_ids if i in self.database}  # the read happens here
        self.loaded.set()
        if self.before_return is not None:
            assert self.before_return.wait(5)
        return rows


def things(*ids: str, version: int = 1) -> dict[str, Thing]:
    return {i: Thing(id=i, version=version) for i in ids}


def outcomes(result: Mapping[str, object]) -> dict[str, CacheOutcome]:
    return {i: c.outcome for i, c in result.items()}  # type: ignore[attr-defined]


def test_cold_batch_loads_once_fills_and_then_hits(manager_factory: ManagerFactory, metrics: RecordingMetrics) -> None:
    manager = manager_factory(near_ttl_s=0)
    loader = BatchLoader(things("a", "b", "c"))
    # "ghost" does not exist: it is served as None and cached negatively
    first = manager.fetch_items(["a", "b", "c", "ghost", "a"], loader, THING)
    assert list(first) == ["a", "b", "c", "ghost"]
    assert {i: c.value for i, c in first.items()} == {**things("a", "b", "c"), "ghost": None}
    assert set(outcomes(first).values()) == {CacheOutcome.MISS}
    assert loader.calls == [(["a", "b", "c", "ghost"], True)], "one strongly consistent load while holding leases"

    second = manager.fetch_items(["c", "ghost", "a", "b"], loader, THING)
    assert len(loader.calls) == 1, "a warm batch reads nothing"
    assert {i: c.value for i, c in second.items()} == {**things("a", "b", "c"), "ghost": None}
    assert set(outcomes(second).values()) == {CacheOutcome.HIT}
    # the same entries as the single-item path
    assert manager.fetch_item("b", lambda: None, THING).value == Thing(id="b", version=1)
    assert metrics.counts["CacheMiss"] == 4


def test_only_the_misses_are_loaded(manager_factory: ManagerFactory) -> None:
    manager = manager_factory(near_ttl_s=0)
    manager.fetch_item("a", lambda: Thing(id="a", version=1), THING)
    loader = BatchLoader(things("a", "b"))
    result = manager.fetch_items(["a", "b"], loader, THING)
    assert outcomes(result) == {"a": CacheOutcome.HIT, "b": CacheOutcome.MISS}
    assert loader.calls == [(["b"], True)]


def test_near_cache_serves_a_warm_batch_without_redis(
    manager_factory: ManagerFactory, metrics: RecordingMetrics, redis_client: redis.Redis
) -> None:
    manager = manager_factory(near_ttl_s=30)
    loader = BatchLoader(things("a", "b"))
    manager.fetch_items(["a", "b"], loader, THING)
    redis_client.flushdb()  # only the near cache can answer now
    result = manager.fetch_items(["a", "b"], loader, THING)
    assert set(outcomes(result).values()) == {CacheOutcome.HIT}
    assert metrics.counts["CacheNearHit"] == 2
    # an owner's read skips the near cache and goes to Redis (now empty)
    owner = manager.fetch_items(["a", "b"], loader, THING, skip_near=True)
    assert set(outcomes(owner).values()) == {CacheOutcome.MISS}


def test_invalidation_makes_the_next_batch_read_the_new_row(manager_factory: ManagerFactory) -> None:
    reader, writer = manager_factory(near_ttl_s=0), manager_factory(near_ttl_s=0)
    database = things("a", "b")
    loader = BatchLoader(database)
    reader.fetch_items(["a", "b"], loader, THING)
    database["a"] = Thing(id="a", version=2)
    writer.invalidate(["a"], [])
    result = reader.fetch_items(["a", "b"], loader, THING)
    assert result["a"].value == Thing(id="a", version=2)
    assert outcomes(result) == {"a": CacheOutcome.MISS, "b": CacheOutcome.HIT}
    assert loader.calls[-1] == (["a"], True)


def test_paused_batch_reader_cannot_store_a_stale_row(manager_factory: ManagerFactory) -> None:
    """A batch reader loads v1 of a and b, a writer commits v2 of a and invalidates, then the reader fills."""
    reader, writer = manager_factory(near_ttl_s=0), manager_factory(near_ttl_s=0)
    database = things("a", "b")
    loader = BatchLoader(database)
    loader.before_return = threading.Event()
    served: dict[str, object] = {}
    thread = threading.Thread(target=lambda: served.update(reader.fetch_items(["a", "b"], loader, THING)))
    thread.start()
    assert loader.loaded.wait(5)
    database["a"] = Thing(id="a", version=2)  # the writer commits ...
    writer.invalidate(["a"], [])  # ... and invalidates while the reader is paused
    loader.before_return.set()
    thread.join(5)
    assert not thread.is_alive()
    assert served["a"].value == Thing(id="a", version=1)  # type: ignore[attr-defined]  # what it read, served once

    fresh = BatchLoader(database)
    after = writer.fetch_items(["a", "b"], fresh, THING)
    assert after["a"].value == Thing(id="a", version=2), "the stale v1 must not have been stored"
    assert outcomes(after) == {"a": CacheOutcome.MISS, "b": CacheOutcome.HIT}, "b was filled"


def test_an_id_leased_by_another_reader_is_loaded_but_not_stored(manager_factory: ManagerFactory) -> None:
    holder, batch = manager_factory(near_ttl_s=0, lease_wait_s=5), manager_factory(near_ttl_s=0)
    release = threading.Event()
    loading = threading.Event()

    def slow() -> Thing:
        loading.set()
        assert release.wait(5)
        return Thing(id="a", version=1)

    thread = threading.Thread(target=lambda: holder.fetch_item("a", slow, THING))
    thread.start()
    assert loading.wait(5)
    loader = BatchLoader(things("a", "b"))
    result = batch.fetch_items(["a", "b"], loader, THING)  # returns while the holder is still loading:
    assert not release.is_set(), "the batch did not wait for another reader's lease"
    assert outcomes(result) == {"a": CacheOutcome.MISS, "b": CacheOutcome.MISS}
    assert loader.calls == [(["b", "a"], True)]
    release.set()
    thread.join(5)
    assert batch.fetch_item("a", lambda: None, THING).value == Thing(id="a", version=1)  # the holder's fill


def test_failed_batch_load_releases_its_leases(manager_factory: ManagerFactory, metrics: RecordingMetrics) -> None:
    a, b = manager_factory(near_ttl_s=0, lease_wait_s=5), manager_factory(near_ttl_s=0, lease_wait_s=5)

    def broken(item_ids: Sequence[str], /, *, consistent: bool) -> dict[str, Thing]:
        raise RuntimeError("dynamodb throttled")

    with pytest.raises(RuntimeError):
        a.fetch_items(["x", "y"], broken, THING)
    assert b.fetch_item("x", lambda: Thing(id="x", version=1), THING).outcome is CacheOutcome.MISS
    assert metrics.counts["CacheLeaseWait"] == 0, "the next reader does not wait for a dead lease"


def test_undecodable_entry_is_bypassed_not_an_error(manager_factory: ManagerFactory, redis_client: redis.Redis) -> None:
    manager = manager_factory(near_ttl_s=0)
    redis_client.set(manager.keys.item("a").value, b"garbage")
    loader = BatchLoader(things("a", "b"))
    result = manager.fetch_items(["a", "b"], loader, THING)
    assert result["a"].value == Thing(id="a", version=1)
    assert outcomes(result) == {"a": CacheOutcome.BYPASS, "b": CacheOutcome.MISS}
    assert len(loader.calls) == 1


def test_redis_down_is_a_bypass_with_eventually_consistent_reads(dedicated_redis: LocalRedis) -> None:
    client = fast_client(dedicated_redis.url, 50)
    metrics = RecordingMetrics()
    manager = make_manager(client, metrics, near_ttl_s=0, failure_threshold=2, cooldown_s=30)
    dedicated_redis.stop()
    loader = BatchLoader(things("a", "b"))
    for _ in range(3):
        result = manager.fetch_items(["a", "b", "gone"], loader, THING)
        assert {i: c.value for i, c in result.items()} == {**things("a", "b"), "gone": None}
        assert set(outcomes(result).values()) == {CacheOutcome.BYPASS}
    assert all(call == (["a", "b", "gone"], False) for call in loader.calls), "nothing is stored: no strong reads"
    assert len(loader.calls) == 3
    assert str(manager.breaker.state) == "open"
    assert metrics.counts["CacheBypass"] == 9
    client.close()


def test_null_cache_loads_everything_once() -> None:
    loader = BatchLoader(things("a"))
    result = NullCache().fetch_items(["a", "b", "a"], loader, THING)
    assert {i: (c.value, c.outcome) for i, c in result.items()} == {
        "a": (Thing(id="a", version=1), CacheOutcome.BYPASS),
        "b": (None, CacheOutcome.BYPASS),
    }
    assert loader.calls == [(["a", "b"], False)]
    assert NullCache().fetch_items([], loader, THING) == {}


@pytest.mark.cluster
def test_batch_over_a_cluster(cluster_client: RedisCluster) -> None:
    reader = make_manager(cluster_client, RecordingMetrics(), near_ttl_s=0, keys=key_space(7))
    writer = make_manager(cluster_client, RecordingMetrics(), near_ttl_s=0, keys=key_space(7))
    ids = [f"course-{i}" for i in range(40)]
    assert len({cluster_client.get_node_from_key(reader.keys.item(i).value).name for i in ids}) == 3
    database = things(*ids)
    loader = BatchLoader(database)
    cold = reader.fetch_items(ids, loader, THING)
    assert set(outcomes(cold).values()) == {CacheOutcome.MISS}
    warm = reader.fetch_items(ids, loader, THING)
    assert set(outcomes(warm).values()) == {CacheOutcome.HIT}
    assert len(loader.calls) == 1
    database.update(things(*ids[:5], version=2))
    writer.invalidate(ids[:5], [])
    after = reader.fetch_items(ids, loader, THING)
    assert {i for i, c in after.items() if c.outcome is CacheOutcome.MISS} == set(ids[:5])
    assert all(after[i].value == Thing(id=i, version=2) for i in ids[:5])
    assert reader.breaker.consecutive_failures == 0


class LaggingBatchLoader(BatchLoader):
    """Eventually consistent reads answer from ``replica`` (behind the leader), consistent ones from the leader."""

    def __init__(self, leader: Mapping[str, Thing], replica: Mapping[str, Thing]) -> None:
        super().__init__(leader)
        self.replica = replica

    def __call__(self, item_ids: Sequence[str], /, *, consistent: bool) -> dict[str, Thing]:
        self.calls.append((list(item_ids), consistent))
        source = self.database if consistent else self.replica
        return {i: source[i] for i in item_ids if i in source}


def test_fenced_batch_reads_eventually_and_rereads_only_what_its_fence_refuses(
    manager_factory: ManagerFactory, redis_client: redis.Redis
) -> None:
    # Given: "a" rewritten to v2 (the replica still has v1), "b" untouched, "c" with a counter update (fence "*")
    manager = manager_factory(near_ttl_s=0)
    manager.invalidate(["a", "c"], [], fences={"a": "2"})
    leader = {**things("a", version=2), **things("b", "c")}
    loader = LaggingBatchLoader(leader, things("a", "b", "c"))

    # When the three miss together
    result = manager.fetch_items(["a", "b", "c"], loader, THING, version=lambda thing: thing.version)

    # Then one eventually consistent load of what a fence can vouch for, one strongly consistent load of the rest
    assert loader.calls == [(["a", "b"], False), (["a", "c"], True)]
    assert {i: c.value for i, c in result.items()} == leader
    # And what was stored is the leader's rows
    again = manager.fetch_items(["a", "b", "c"], BatchLoader({}), THING, version=lambda thing: thing.version)
    assert {i: (c.outcome, c.value) for i, c in again.items()} == {i: (CacheOutcome.HIT, v) for i, v in leader.items()}
