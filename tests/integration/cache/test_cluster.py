"""The manager on the three-shard ElastiCache stand-in (ElastiCache Serverless is cluster-only)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from redis.cluster import RedisCluster

from courses_api.cache.api import CacheOutcome, ListNamespace
from courses_api.cache.config import build_manager
from local.redis_server import ElastiCacheStandIn
from tests.integration.cache.conftest import (
    THING,
    THINGS,
    CountingLoader,
    RecordingMetrics,
    Thing,
    key_space,
    make_manager,
)
from tests.support.elasticache import standin_settings

pytestmark = pytest.mark.cluster


def test_items_and_lists_spread_over_slots_and_invalidate(cluster_client: RedisCluster) -> None:
    manager = make_manager(cluster_client, RecordingMetrics(), near_ttl_s=0, keys=key_space(1))
    ids = [f"course-{i}" for i in range(40)]
    for item_id in ids:
        assert manager.fetch_item(item_id, CountingLoader(Thing(id=item_id, version=1)), THING).outcome is (
            CacheOutcome.MISS
        )
    slots = {cluster_client.keyslot(manager.keys.item(i).value) for i in ids}
    nodes = {cluster_client.get_node_from_key(manager.keys.item(i).value).name for i in ids}
    assert len(slots) > 30, "the keys really are spread over the cluster"
    assert len(nodes) == 3
    assert all(manager.fetch_item(i, CountingLoader(None), THING).outcome is CacheOutcome.HIT for i in ids)

    namespaces = [ListNamespace("category", f"cat-{i}") for i in range(10)]
    for ns in namespaces:
        manager.fetch_list(ns, "limit=20", CountingLoader([Thing(id="a", version=1)]), THINGS)
        page = manager.keys.page(ns, "limit=20")
        assert len({cluster_client.keyslot(k) for k in (page.generation, page.value, page.lease)}) == 1

    # One invalidate spanning many slots (a non-transactional cluster pipeline)
    manager.invalidate(ids, namespaces)
    assert manager.health().status == "ok"
    assert manager.breaker.consecutive_failures == 0
    for item_id in ids:
        fresh = manager.fetch_item(item_id, CountingLoader(Thing(id=item_id, version=2)), THING)
        assert (fresh.outcome, fresh.value) == (CacheOutcome.MISS, Thing(id=item_id, version=2))
    for ns in namespaces:
        assert manager.fetch_list(ns, "limit=20", CountingLoader([]), THINGS).outcome is CacheOutcome.MISS


def test_no_stale_set_and_stampede_on_cluster(cluster_client: RedisCluster) -> None:
    metrics = RecordingMetrics()
    managers = [
        make_manager(cluster_client, metrics, near_ttl_s=0, keys=key_space(2), lease_wait_s=30) for _ in range(4)
    ]
    loader = CountingLoader(Thing(id="hot", version=1), until_waiting=(metrics, 63))
    barrier = threading.Barrier(64)

    def read(i: int) -> object:
        barrier.wait()
        return managers[i % 4].fetch_item("hot", loader, THING).value

    with ThreadPoolExecutor(64) as pool:
        assert all(v == Thing(id="hot", version=1) for v in pool.map(read, range(64)))
    assert loader.calls == 1, metrics.counts

    database = {"row": Thing(id="c9", version=1)}
    loaded, resume = threading.Event(), threading.Event()

    def slow() -> Thing:
        row = database["row"]
        loaded.set()
        assert resume.wait(5)
        return row

    reader = threading.Thread(target=lambda: managers[0].fetch_item("c9", slow, THING))
    reader.start()
    assert loaded.wait(5)
    database["row"] = Thing(id="c9", version=2)
    managers[1].invalidate(["c9"], [])
    resume.set()
    reader.join(5)
    assert managers[2].fetch_item("c9", lambda: database["row"], THING).value == Thing(id="c9", version=2)


def test_client_factory_builds_a_cluster_client_from_settings(redis_server: ElastiCacheStandIn) -> None:
    settings = standin_settings(redis_server)
    manager = build_manager(settings, RecordingMetrics())
    first = manager.fetch_item("x", CountingLoader(Thing(id="x", version=1)), THING)
    second = manager.fetch_item("x", CountingLoader(None), THING, skip_near=True)
    assert (first.outcome, second.outcome) == (CacheOutcome.MISS, CacheOutcome.HIT)
    assert manager.health().status == "ok"


def test_page_hits_are_one_mget_per_slot_on_cluster(cluster_client: RedisCluster) -> None:
    # Given pages of many namespaces (slots on all three nodes), filled
    metrics = RecordingMetrics()
    manager = make_manager(cluster_client, metrics, near_ttl_s=0, keys=key_space(4))
    namespaces = [ListNamespace("category", f"cat-{i}") for i in range(12)]
    for ns in namespaces:
        manager.fetch_list(ns, "limit=20", CountingLoader([Thing(id=ns.partition, version=1)]), THINGS)
    assert len({cluster_client.get_node_from_key(manager.keys.generation(ns)).name for ns in namespaces}) == 3

    # Then each is a hit through the script-free MGET of generation + page, on its own node
    for ns in namespaces:
        hit = manager.fetch_list(ns, "limit=20", CountingLoader(None), THINGS)
        assert (hit.outcome, hit.value) == (CacheOutcome.HIT, [Thing(id=ns.partition, version=1)])
    assert metrics.counts["CacheError"] == 0

