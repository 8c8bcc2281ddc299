"""Reads cannot grow Redis without bound: a list nobody wrote leaves keys that die with the list's TTL.

An anonymous caller can ask for any category or instructor id. Each unseen one used to
create a generation key living 24 hours; now a generation that only readers created
lives no longer than the pages under it (the list TTL), while generations bumped by a
write keep their longer life, which writes (authenticated, bounded by real courses) pay for.
"""

from __future__ import annotations

import pytest
import redis

from courses_api.cache.api import ListNamespace
from tests.integration.cache.conftest import THINGS, CountingLoader, ManagerFactory, Thing

LIST_TTL_S = 60


def test_lists_nobody_wrote_leave_no_key_beyond_the_list_ttl(
    manager_factory: ManagerFactory, redis_client: redis.Redis
) -> None:
    # Given a manager whose lists live 60 s
    manager = manager_factory(list_ttl_s=LIST_TTL_S)
    # When 50 made-up categories are read, each once (the page is filled: an empty list)
    for n in range(50):
        manager.fetch_list(ListNamespace("category", f"made-up-{n}"), "limit=20", CountingLoader([]), THINGS)
    # Then every key they left expires within the list TTL: nothing lingers for a day
    keys = list(redis_client.scan_iter(f"{manager.keys.root}:*"))
    assert keys
    ttls = [redis_client.pttl(key) for key in keys]
    assert all(0 < ttl <= LIST_TTL_S * 1000 for ttl in ttls), sorted(ttls)[-3:]


def test_a_read_whose_fill_never_comes_leaves_a_generation_for_the_lease_only(
    manager_factory: ManagerFactory, redis_client: redis.Redis
) -> None:
    manager = manager_factory(list_ttl_s=LIST_TTL_S)

    def failing() -> list[Thing]:
        raise RuntimeError("the database failed")

    with pytest.raises(RuntimeError):
        manager.fetch_list(ListNamespace("instructor", "nobody"), "limit=20", failing, THINGS)
    generation = manager.keys.generation(ListNamespace("instructor", "nobody"))
    assert 0 < redis_client.pttl(generation) <= manager.config.lease_ttl_ms


def test_pages_stay_hits_while_the_generation_outlives_them(
    manager_factory: ManagerFactory, redis_client: redis.Redis
) -> None:
    manager = manager_factory(list_ttl_s=LIST_TTL_S)
    namespace = ListNamespace("category", "web")
    loader = CountingLoader([])
    manager.fetch_list(namespace, "limit=20", loader, THINGS, skip_near=True)
    manager.fetch_list(namespace, "limit=5", loader, THINGS, skip_near=True)
    page = manager.keys.page(namespace, "limit=20")
    assert redis_client.pttl(page.generation) >= redis_client.pttl(page.value)
    assert manager.fetch_list(namespace, "limit=20", loader, THINGS, skip_near=True).outcome.value == "HIT"
    assert loader.calls == 2


def test_a_written_namespace_keeps_its_generation(manager_factory: ManagerFactory, redis_client: redis.Redis) -> None:
    manager = manager_factory(list_ttl_s=LIST_TTL_S)
    namespace = ListNamespace("category", "web")
    manager.invalidate([], [namespace])
    assert redis_client.pttl(manager.keys.generation(namespace)) > LIST_TTL_S * 1000
    # and a fill under it does not shorten it
    manager.fetch_list(namespace, "limit=20", CountingLoader([]), THINGS, skip_near=True)
    assert redis_client.pttl(manager.keys.generation(namespace)) > LIST_TTL_S * 1000
