"""Read-through behaviour against the ElastiCache stand-in: tiers, leases, stampedes, fences."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis

from courses_api.cache.api import CacheOutcome, EventualRead, ListNamespace
from courses_api.cache.manager import RedisCacheManager
from tests.integration.cache.conftest import (
    THING,
    THINGS,
    CountingLoader,
    ManagerFactory,
    RecordingMetrics,
    Thing,
    advance_redis,
)
from tests.support.clock import FakeClock

CATALOGUE = ListNamespace("catalogue")


def test_miss_then_redis_hit_then_near_hit(manager_factory: ManagerFactory, metrics: RecordingMetrics) -> None:
    # Given two containers sharing Redis
    writer_side = manager_factory()
    reader_side = manager_factory()
    loader = CountingLoader(Thing(id="c1", version=1))

    # When the first container misses, and the second reads twice
    first = writer_side.fetch_item("c1", loader, THING)
    second = reader_side.fetch_item("c1", loader, THING)
    third = reader_side.fetch_item("c1", loader, THING)

    # Then one loader call fills Redis, the second container hits Redis, then its near cache
    assert (first.outcome, second.outcome, third.outcome) == (CacheOutcome.MISS, CacheOutcome.HIT, CacheOutcome.HIT)
    assert second.value == Thing(id="c1", version=1)
    assert loader.calls == 1
    assert metrics.counts["CacheMiss"] == 1
    assert metrics.counts["CacheHit"] == 2
    assert metrics.counts["CacheNearHit"] == 1


def test_keys_are_namespaced_versioned_and_hash_tagged(manager: RedisCacheManager, redis_client: redis.Redis) -> None:
    manager.fetch_item("c1", CountingLoader(Thing(id="c1", version=1)), THING)
    manager.fetch_list(ListNamespace("category", "web"), "limit=20", CountingLoader([]), THINGS)
    keys = sorted(k.decode() for k in redis_client.keys(f"{manager.keys.root}:*") if isinstance(k, bytes))
    root = manager.keys.root
    assert root == f"{manager.keys.prefix}:v{manager.keys.schema_version}"
    assert f"{root}:item:{{c1}}" in keys
    assert f"{root}:gen:{{category:web}}" in keys
    assert any(k.startswith(f"{root}:list:{{category:web}}:") for k in keys)
    assert not any(k.endswith(":lease") for k in keys), "fills release their lease"


def test_ttl_has_jitter_and_stays_within_bounds(manager_factory: ManagerFactory, redis_client: redis.Redis) -> None:
    manager = manager_factory(item_ttl_s=100, ttl_jitter=0.2)
    for i in range(30):
        manager.fetch_item(f"j{i}", CountingLoader(Thing(id=f"j{i}", version=1)), THING)
    ttls = {redis_client.pttl(manager.keys.item(f"j{i}").value) for i in range(30)}
    assert all(79_000 <= ttl <= 100_000 for ttl in ttls)
    assert len(ttls) > 20


def test_large_values_are_compressed_and_round_trip(manager_factory: ManagerFactory, redis_client: redis.Redis) -> None:
    manager = manager_factory(near_ttl_s=0)
    big = Thing(id="big", version=3, title="x" * 5000)
    manager.fetch_item("big", CountingLoader(big), THING)
    stored = redis_client.get(manager.keys.item("big").value)
    assert stored is not None
    assert stored[:1] == b"Z"
    assert len(stored) < 1000
    again = manager.fetch_item("big", CountingLoader(None), THING)
    assert (again.value, again.outcome) == (big, CacheOutcome.HIT)


def test_skip_near_reads_redis_so_writers_see_their_writes(manager_factory: ManagerFactory) -> None:
    # Given container A has v1 in its near cache
    a, b = manager_factory(), manager_factory()
    a.fetch_item("c1", CountingLoader(Thing(id="c1", version=1)), THING)
    a.fetch_item("c1", CountingLoader(None), THING)
    # When container B writes v2 and invalidates (A's near cache is out of B's reach)
    b.invalidate(["c1"], [])
    b.fetch_item("c1", CountingLoader(Thing(id="c1", version=2)), THING)
    # Then an anonymous read on A may still see v1 for up to the near TTL, an owner read never does
    assert a.fetch_item("c1", CountingLoader(None), THING).value == Thing(id="c1", version=1)
    owner = a.fetch_item("c1", CountingLoader(None), THING, skip_near=True)
    assert owner.value == Thing(id="c1", version=2)


def test_near_cache_expires_after_its_ttl(manager_factory: ManagerFactory) -> None:
    clock = FakeClock()
    a, b = manager_factory(near_ttl_s=0.2, clock=clock), manager_factory()
    a.fetch_item("c1", CountingLoader(Thing(id="c1", version=1)), THING)
    b.invalidate(["c1"], [])
    b.fetch_item("c1", CountingLoader(Thing(id="c1", version=2)), THING)
    clock.advance(0.19)
    assert a.fetch_item("c1", CountingLoader(None), THING).value == Thing(id="c1", version=1)
    clock.advance(0.02)
    assert a.fetch_item("c1", CountingLoader(None), THING).value == Thing(id="c1", version=2)


def test_near_cache_zero_ttl_disables_it(manager_factory: ManagerFactory, metrics: RecordingMetrics) -> None:
    manager = manager_factory(near_ttl_s=0)
    manager.fetch_item("c1", CountingLoader(Thing(id="c1", version=1)), THING)
    manager.fetch_item("c1", CountingLoader(None), THING)
    manager.fetch_item("c1", CountingLoader(None), THING)
    assert metrics.counts["CacheNearHit"] == 0
    assert metrics.counts["CacheHit"] == 2


def test_invalidate_drops_items_in_both_tiers(manager: RedisCacheManager) -> None:
    manager.fetch_item("c1", CountingLoader(Thing(id="c1", version=1)), THING)
    manager.invalidate(["c1"], [])
    again = manager.fetch_item("c1", CountingLoader(Thing(id="c1", version=2)), THING)
    assert again.outcome is CacheOutcome.MISS
    assert again.value == Thing(id="c1", version=2)


def test_one_generation_bump_invalidates_every_page(manager_factory: ManagerFactory, redis_client: redis.Redis) -> None:
    a, b = manager_factory(near_ttl_s=0), manager_factory(near_ttl_s=0)
    web = ListNamespace("category", "web")
    for page in ("limit=20", "limit=20&cursor=x", "limit=5"):
        a.fetch_list(web, page, CountingLoader([Thing(id="c1", version=1)]), THINGS)
        assert a.fetch_list(web, page, CountingLoader(None), THINGS).outcome is CacheOutcome.HIT
    other = a.fetch_list(ListNamespace("category", "data"), "limit=20", CountingLoader([]), THINGS)
    assert other.outcome is CacheOutcome.MISS

    b.health()  # open b's connection first, so its handshake is not counted
    commands_before = _commands(redis_client)
    b.invalidate([], [web])
    commands = sum(_delta(commands_before, _commands(redis_client)).values())
    assert commands <= 6, "invalidating a list namespace is O(1), not a scan (one script: fence, seed, INCR, PEXPIRE)"

    for page in ("limit=20", "limit=20&cursor=x", "limit=5"):
        fresh = a.fetch_list(web, page, CountingLoader([Thing(id="c1", version=2)]), THINGS)
        assert fresh.outcome is CacheOutcome.MISS
        assert fresh.value == [Thing(id="c1", version=2)]
    assert a.fetch_list(ListNamespace("category", "data"), "limit=20", CountingLoader(None), THINGS).outcome is (
        CacheOutcome.HIT
    )


def test_list_invalidation_clears_local_near_pages(manager: RedisCacheManager) -> None:
    manager.fetch_list(CATALOGUE, "p1", CountingLoader([Thing(id="a", version=1)]), THINGS)
    assert manager.fetch_list(CATALOGUE, "p1", CountingLoader(None), THINGS).outcome is CacheOutcome.HIT
    manager.invalidate([], [CATALOGUE])
    fresh = manager.fetch_list(CATALOGUE, "p1", CountingLoader([Thing(id="a", version=2)]), THINGS)
    assert fresh.outcome is CacheOutcome.MISS
    assert fresh.value == [Thing(id="a", version=2)]


def test_lost_generation_counter_does_not_revive_old_pages(
    manager: RedisCacheManager, redis_client: redis.Redis
) -> None:
    # Given a page filled under the current generation
    manager.fetch_list(CATALOGUE, "p1", CountingLoader([Thing(id="a", version=1)]), THINGS)
    manager.clear_near()
    # When the counter is evicted (memory pressure) and re-created
    redis_client.delete(manager.keys.generation(CATALOGUE))
    # Then the old page is not current under the new seed
    assert manager.fetch_list(CATALOGUE, "p1", CountingLoader([]), THINGS).outcome is CacheOutcome.MISS


# ---------------------------------------------------------------- negative caching


def test_not_found_is_cached_briefly_and_cleared_by_invalidate(
    manager_factory: ManagerFactory, redis_client: redis.Redis
) -> None:
    manager = manager_factory(near_ttl_s=0, negative_ttl_s=5)
    missing = CountingLoader(None)
    assert manager.fetch_item("ghost", missing, THING).value is None
    hit = manager.fetch_item("ghost", missing, THING)
    assert (hit.value, hit.outcome, missing.calls) == (None, CacheOutcome.HIT, 1)
    assert 0 < redis_client.pttl(manager.keys.item("ghost").value) <= 5000

    # When the course is created, the create path invalidates the id
    manager.invalidate(["ghost"], [])
    created = manager.fetch_item("ghost", CountingLoader(Thing(id="ghost", version=1)), THING)
    assert created.value == Thing(id="ghost", version=1)
    assert created.outcome is CacheOutcome.MISS


def test_negative_entry_expires(manager_factory: ManagerFactory, redis_client: redis.Redis) -> None:
    manager = manager_factory(near_ttl_s=0, negative_ttl_s=60, ttl_jitter=0)
    manager.fetch_item("ghost", CountingLoader(None), THING)
    assert 0 < redis_client.pttl(manager.keys.item("ghost").value) <= 60_000
    advance_redis(redis_client, 60)
    assert manager.fetch_item("ghost", CountingLoader(Thing(id="ghost", version=1)), THING).outcome is CacheOutcome.MISS


# ---------------------------------------------------------------- no stale sets


def test_reader_paused_between_load_and_fill_cannot_store_stale_item(manager_factory: ManagerFactory) -> None:
    """A reader loads v1, a writer commits v2 and invalidates, then the reader tries to fill."""
    reader_side, writer_side = manager_factory(near_ttl_s=0), manager_factory(near_ttl_s=0)
    database = {"c1": Thing(id="c1", version=1)}
    loaded, resume = threading.Event(), threading.Event()

    def slow_read() -> Thing:
        row = database["c1"]  # the DynamoDB read happens here ...
        loaded.set()
        assert resume.wait(5)  # ... and the reader is paused before its cache fill
        return row

    reader = threading.Thread(target=lambda: reader_side.fetch_item("c1", slow_read, THING))
    reader.start()
    assert loaded.wait(5)
    database["c1"] = Thing(id="c1", version=2)  # the writer commits
    writer_side.invalidate(["c1"], [])  # and invalidates
    resume.set()
    reader.join(5)

    final = writer_side.fetch_item("c1", lambda: database["c1"], THING)
    assert final.value == Thing(id="c1", version=2), "the stale v1 must not have been stored"


def test_writer_invalidating_before_reader_fill_also_beats_a_reader_that_retakes_lease(
    manager_factory: ManagerFactory,
) -> None:
    """Reader A (old row) pauses; writer invalidates; reader B fills v2; A's fill must not overwrite it."""
    a, b, writer = manager_factory(near_ttl_s=0), manager_factory(near_ttl_s=0), manager_factory(near_ttl_s=0)
    database = {"c1": Thing(id="c1", version=1)}
    loaded, resume = threading.Event(), threading.Event()

    def slow_read() -> Thing:
        row = database["c1"]
        loaded.set()
        assert resume.wait(5)
        return row

    thread = threading.Thread(target=lambda: a.fetch_item("c1", slow_read, THING))
    thread.start()
    assert loaded.wait(5)
    database["c1"] = Thing(id="c1", version=2)
    writer.invalidate(["c1"], [])
    assert b.fetch_item("c1", lambda: database["c1"], THING).outcome is CacheOutcome.MISS
    resume.set()
    thread.join(5)
    assert writer.fetch_item("c1", CountingLoader(None), THING).value == Thing(id="c1", version=2)


def test_reader_paused_between_query_and_fill_cannot_store_stale_page(manager_factory: ManagerFactory) -> None:
    reader_side, writer_side = manager_factory(near_ttl_s=0), manager_factory(near_ttl_s=0)
    web = ListNamespace("category", "web")
    database = {"page": [Thing(id="c1", version=1)]}
    loaded, resume = threading.Event(), threading.Event()

    def slow_query() -> list[Thing]:
        rows = list(database["page"])
        loaded.set()
        assert resume.wait(5)
        return rows

    reader = threading.Thread(target=lambda: reader_side.fetch_list(web, "limit=20", slow_query, THINGS))
    reader.start()
    assert loaded.wait(5)
    database["page"] = [Thing(id="c1", version=2)]
    writer_side.invalidate([], [web])
    resume.set()
    reader.join(5)

    final = writer_side.fetch_list(web, "limit=20", lambda: database["page"], THINGS)
    assert final.value == [Thing(id="c1", version=2)]


def test_failed_loader_releases_its_lease(manager_factory: ManagerFactory, metrics: RecordingMetrics) -> None:
    a, b = manager_factory(near_ttl_s=0, lease_wait_s=5), manager_factory(near_ttl_s=0, lease_wait_s=5)

    def broken() -> Thing:
        raise RuntimeError("dynamodb throttled")

    with pytest.raises(RuntimeError):
        a.fetch_item("c1", broken, THING)
    assert b.fetch_item("c1", CountingLoader(Thing(id="c1", version=1)), THING).outcome is CacheOutcome.MISS
    assert metrics.counts["CacheLeaseWait"] == 0, "the next reader does not wait for a dead lease"


# ---------------------------------------------------------------- stampedes


@pytest.mark.parametrize("kind", ["item", "list"])
def test_64_concurrent_misses_cost_one_load(
    manager_factory: ManagerFactory, metrics: RecordingMetrics, kind: str
) -> None:
    # Given 8 containers with 8 concurrent requests each on one cold key, and a database read that
    # lasts until every other reader is waiting for it (no timing: the readers' own progress; the
    # generous timeouts only keep a loaded machine from turning waits into BYPASSes)
    managers = [manager_factory(near_ttl_s=0, lease_wait_s=30, timeout_ms=5000) for _ in range(8)]
    item_loader = CountingLoader(Thing(id="hot", version=1), until_waiting=(metrics, 63))
    page_loader = CountingLoader([Thing(id="hot", version=1)], until_waiting=(metrics, 63))

    start = threading.Barrier(64)

    def read(i: int) -> object:
        start.wait()
        manager = managers[i % 8]
        if kind == "item":
            return manager.fetch_item("hot", item_loader, THING).value
        return manager.fetch_list(CATALOGUE, "limit=20", page_loader, THINGS).value

    with ThreadPoolExecutor(64) as pool:
        values = list(pool.map(read, range(64)))

    # Then the database is read once and every request got the row
    assert item_loader.calls + page_loader.calls == 1, metrics.counts
    assert all(v in (Thing(id="hot", version=1), [Thing(id="hot", version=1)]) for v in values)
    assert metrics.counts["CacheLeaseWait"] == 63


def test_waiters_give_up_and_load_when_the_lease_holder_is_too_slow(
    manager_factory: ManagerFactory, redis_client: redis.Redis
) -> None:
    # Given another reader holding the lease of c1 (and never filling it)
    clock = FakeClock()
    waiter = manager_factory(near_ttl_s=0, lease_wait_s=0.25, clock=clock)
    redis_client.set(waiter.keys.item("c1").lease, "someone-else", px=60_000)
    own = CountingLoader(Thing(id="c1", version=1))
    # When this reader misses, it polls on its clock until the wait is over
    result = waiter.fetch_item("c1", own, THING)
    # Then it loads without storing, after 0.25 s of the injected clock (never the wall's)
    assert (result.outcome, own.calls) == (CacheOutcome.MISS, 1)
    assert clock.monotonic() - FakeClock().monotonic() == pytest.approx(0.25)
    assert not redis_client.exists(waiter.keys.item("c1").value)


def test_powertools_metrics_receive_cache_metrics(manager_factory: ManagerFactory) -> None:
    from aws_lambda_powertools import Metrics

    powertools = Metrics(namespace="CoursesApi", service="courses-api")
    powertools.clear_metrics()
    manager = manager_factory(metrics=powertools)
    manager.fetch_item("c1", CountingLoader(Thing(id="c1", version=1)), THING)
    manager.fetch_item("c1", CountingLoader(None), THING)
    emf = powertools.serialize_metric_set()
    names = {m["Name"] for m in emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]}
    assert {"CacheMiss", "CacheHit", "CacheNearHit"} <= names
    powertools.clear_metrics()


# ---------------------------------------------------------------- the hit path: no script


def _commands(redis_client: redis.Redis) -> dict[str, int]:
    stats = redis_client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(entry["calls"]) for name, entry in stats.items()}


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    changed = {name: calls - before.get(name, 0) for name, calls in after.items()}
    changed.pop("info", None)  # our own INFO between the snapshots (one per node of the cluster)
    return {name: calls for name, calls in changed.items() if calls}


def test_redis_hit_is_one_plain_get_and_a_page_hit_one_mget(
    manager_factory: ManagerFactory, redis_client: redis.Redis
) -> None:
    # Given an item and a page in Redis (near cache off, so every read goes to Redis)
    manager = manager_factory(near_ttl_s=0)
    manager.fetch_item("c1", CountingLoader(Thing(id="c1", version=1)), THING)
    manager.fetch_list(CATALOGUE, "limit=20", CountingLoader([Thing(id="c1", version=1)]), THINGS)

    # When each is read again
    before = _commands(redis_client)
    item = manager.fetch_item("c1", CountingLoader(None), THING)
    item_commands = _delta(before, _commands(redis_client))
    before = _commands(redis_client)
    page = manager.fetch_list(CATALOGUE, "limit=20", CountingLoader(None), THINGS)
    page_commands = _delta(before, _commands(redis_client))

    # Then the item hit was a single GET and the page hit a single MGET: no Lua, no PTTL
    assert (item.outcome, item.value) == (CacheOutcome.HIT, Thing(id="c1", version=1))
    assert (page.outcome, page.value) == (CacheOutcome.HIT, [Thing(id="c1", version=1)])
    assert item_commands == {"get": 1}
    assert page_commands == {"mget": 1}


def test_miss_is_a_get_then_the_lease_script(manager: RedisCacheManager, redis_client: redis.Redis) -> None:
    manager.fetch_item("warm-up", CountingLoader(None), THING)  # connected, scripts loaded
    before = _commands(redis_client)
    manager.fetch_item("c1", CountingLoader(Thing(id="c1", version=1)), THING)
    commands = _delta(before, _commands(redis_client))
    # A plain GET (miss), then the read script (GET value, SET lease, GET fence, EXISTS unsure)
    # and the fill script (GET lease, SET value, DEL lease); commandstats counts the commands
    # scripts run too
    assert commands == {"get": 4, "evalsha": 2, "set": 2, "del": 1, "exists": 1}


def test_value_filled_between_the_get_and_the_lease_script_is_a_hit(
    manager_factory: ManagerFactory, metrics: RecordingMetrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a reader whose GET missed just before another container filled the key
    from courses_api.cache.entries import ItemEntry

    reader, filler = manager_factory(near_ttl_s=0), manager_factory(near_ttl_s=0)
    real_peek = ItemEntry.peek
    filled: list[bool] = []

    def peek_then_fill(entry: ItemEntry, client: Any) -> Any:
        result = real_peek(entry, client)
        if not filled:
            filled.append(True)
            filler.fetch_item("c1", CountingLoader(Thing(id="c1", version=1)), THING)
        return result

    monkeypatch.setattr(ItemEntry, "peek", peek_then_fill)
    own = CountingLoader(Thing(id="c1", version=9))

    # When the reader runs the lease script
    result = reader.fetch_item("c1", own, THING)

    # Then the script finds the filled value: a hit, no lease, no second database read
    assert (result.outcome, result.value, own.calls) == (CacheOutcome.HIT, Thing(id="c1", version=1), 0)


def test_page_of_an_older_generation_is_a_miss_on_the_get_path(
    manager_factory: ManagerFactory, redis_client: redis.Redis
) -> None:
    # Given a page stored under generation g, and the counter moved on (a write elsewhere)
    manager = manager_factory(near_ttl_s=0)
    manager.fetch_list(CATALOGUE, "p1", CountingLoader([Thing(id="a", version=1)]), THINGS)
    redis_client.incr(manager.keys.generation(CATALOGUE))
    # Then the old page is not served, although its key is still there
    fresh = manager.fetch_list(CATALOGUE, "p1", CountingLoader([Thing(id="a", version=2)]), THINGS)
    assert (fresh.outcome, fresh.value) == (CacheOutcome.MISS, [Thing(id="a", version=2)])


# ---------------------------------------------------------------- version fences


def test_invalidation_leaves_the_committed_version_as_a_fence(
    manager_factory: ManagerFactory, redis_client: redis.Redis
) -> None:
    manager = manager_factory(near_ttl_s=0, fence_ttl_ms=5000)
    keys = manager.keys.item("c1")
    assert manager.invalidate(["c1"], [], fences={"c1": "3"}) is True
    assert redis_client.get(keys.fence) == b"3"
    # kept a day: DynamoDB streams keep records 24 h, so no record can arrive after it is gone
    # (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html, read 2026-12-03)
    assert redis_client.pttl(keys.fence) > 24 * 3600 * 1000 - 60_000
    manager.invalidate(["c1"], [], fences={"c1": "2"})  # an older write's invalidation, arriving late
    assert redis_client.get(keys.fence) == b"3", "the newest version wins"
    manager.invalidate(["c1"], [])  # no version known (a counter update): unsure for a few seconds
    assert redis_client.get(keys.fence) == b"3"
    assert 0 < redis_client.pttl(keys.unsure) <= 5000


def test_fill_older_than_the_fence_is_read_again_consistently(manager_factory: ManagerFactory) -> None:
    # Given v2 committed and invalidated, and a replica still answering v1
    manager = manager_factory(near_ttl_s=0)
    manager.invalidate(["c1"], [], fences={"c1": "2"})
    eventual = CountingLoader(Thing(id="c1", version=1))
    consistent = CountingLoader(Thing(id="c1", version=2))

    # When a reader misses
    first = manager.fetch_item("c1", consistent, THING, eventual=EventualRead(eventual, lambda thing: thing.version))

    # Then the replica's v1 is refused, v2 is read strongly consistently, served and stored
    assert (first.value, eventual.calls, consistent.calls) == (Thing(id="c1", version=2), 1, 1)
    assert manager.fetch_item("c1", CountingLoader(None), THING).value == Thing(id="c1", version=2)


def test_fill_at_the_fenced_version_costs_one_eventual_read(manager_factory: ManagerFactory) -> None:
    manager = manager_factory(near_ttl_s=0)
    manager.invalidate(["c1"], [], fences={"c1": "2"})
    eventual, consistent = CountingLoader(Thing(id="c1", version=2)), CountingLoader(Thing(id="c1", version=2))
    result = manager.fetch_item("c1", consistent, THING, eventual=EventualRead(eventual, lambda thing: thing.version))
    assert (result.outcome, eventual.calls, consistent.calls) == (CacheOutcome.MISS, 1, 0)
    assert manager.fetch_item("c1", CountingLoader(None), THING).outcome is CacheOutcome.HIT


def test_index_page_is_not_stored_while_its_namespace_fence_stands(
    manager_factory: ManagerFactory, redis_client: redis.Redis
) -> None:
    manager = manager_factory(near_ttl_s=0, fence_ttl_ms=300)
    web = ListNamespace("category", "web")
    manager.invalidate([], [web])
    # Within the fence: an index read may predate the write, so it is served, not stored
    first = manager.fetch_list(web, "p1", CountingLoader([Thing(id="a", version=1)]), THINGS)
    assert first.outcome is CacheOutcome.MISS
    assert not redis_client.exists(manager.keys.page(web, "p1").value)
    # A list whose pages are read strongly consistently is stored at once
    mine = ListNamespace("me", "u1", consistent_reads=True)
    manager.invalidate([], [mine])
    manager.fetch_list(mine, "p2", CountingLoader([Thing(id="a", version=2)]), THINGS)
    assert redis_client.exists(manager.keys.page(mine, "p2").value)
    # Once the fence is gone (longer than replica lag), index pages are stored again
    redis_client.delete(manager.keys.namespace_fence(web))
    manager.fetch_list(web, "p1", CountingLoader([Thing(id="a", version=2)]), THINGS)
    assert manager.fetch_list(web, "p1", CountingLoader(None), THINGS).outcome is CacheOutcome.HIT


def test_a_table_page_fills_eventually_consistently_unless_its_fence_stands(
    manager_factory: ManagerFactory, redis_client: redis.Redis
) -> None:
    manager = manager_factory(near_ttl_s=0, fence_ttl_ms=300)
    mine = ListNamespace("me", "u1", consistent_reads=True)
    strong, eventual = CountingLoader([Thing(id="a", version=1)]), CountingLoader([Thing(id="a", version=1)])
    # No invalidation within replica lag: the eventually consistent read fills the page
    assert manager.fetch_list(mine, "p1", strong, THINGS, eventual=eventual).outcome is CacheOutcome.MISS
    assert (strong.calls, eventual.calls) == (0, 1)
    assert redis_client.exists(manager.keys.page(mine, "p1").value)
    # Right after an invalidation (its fence stands) only the strong read may fill it
    manager.invalidate([], [mine])
    fresh = CountingLoader([Thing(id="a", version=2)])
    lagging = CountingLoader([Thing(id="a", version=1)])
    assert manager.fetch_list(mine, "p1", fresh, THINGS, eventual=lagging).value == [Thing(id="a", version=2)]
    assert (fresh.calls, lagging.calls) == (1, 0)
    # An index page (no consistent reads) never takes the eventual path: it is its only read
    web = ListNamespace("category", "web")
    index, unused = CountingLoader([Thing(id="b", version=1)]), CountingLoader([])
    manager.fetch_list(web, "p1", index, THINGS, eventual=unused)
    assert (index.calls, unused.calls) == (1, 0)
