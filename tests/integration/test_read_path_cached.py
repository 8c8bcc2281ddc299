"""The read routes with the real Redis tier: MISS then HIT, across containers, and bypass."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

import pytest
import redis

from courses_api.data.dynamo import batch_write
from tests.support.data import course_item
from tests.support.events import load_event
from tests.support.functions import call

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@pytest.fixture
def seeded(tables: dict[str, str], dynamodb: DynamoDBClient, with_redis: redis.Redis) -> None:
    rows = [course_item(f"web{i:04d}", published_at=f"2026-11-01T10:{i:02d}:00.000000Z") for i in range(12)]
    batch_write(dynamodb, tables["COURSES_TABLE"], rows)


def test_item_miss_then_hit_costs_one_read(seeded: None, function: Callable[[str], ModuleType]) -> None:
    module = function("get_course")
    event = load_event("get_course", path_parameters={"course_id": "web0003"})
    first, second = call(module, event), call(module, event)
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("MISS", "HIT")
    assert first.body == second.body
    assert second.headers["ETag"] == first.headers["ETag"]
    # the row, which carries its enrollment count, once: cached for the second read
    assert module.container.meter.total.calls == {"GetItem": 1}


def test_another_container_hits_redis(seeded: None, function: Callable[[str], ModuleType]) -> None:
    event = load_event("list_courses", query={"category": "web-development", "limit": "5"})
    assert call(function("list_courses"), event).headers["X-Cache"] == "MISS"
    other = function("list_courses")
    result = call(other, event)
    assert result.headers["X-Cache"] == "HIT"
    assert len(result.body["items"]) == 5
    assert other.container.meter.total.calls == {}


def test_missing_course_is_cached_negatively(seeded: None, function: Callable[[str], ModuleType]) -> None:
    module = function("get_course")
    event = load_event("get_course", path_parameters={"course_id": "nope"})
    assert call(module, event).status == 404
    assert call(function("get_course"), event).status == 404
    assert module.container.meter.total.calls == {"GetItem": 1}


def test_pages_cached_under_cursor_still_visit_every_item_once(
    seeded: None, function: Callable[[str], ModuleType]
) -> None:
    module = function("list_courses")
    for _ in range(2):  # the second walk is served from the cache
        seen: list[str] = []
        query = {"limit": "5"}
        while True:
            page = call(module, load_event("list_courses", query=query)).body
            seen += [item["course_id"] for item in page["items"]]
            if not page["next_cursor"]:
                break
            query["cursor"] = page["next_cursor"]
        assert sorted(seen) == [f"web{i:04d}" for i in range(12)]


def test_unreachable_redis_is_a_bypass_not_an_error(
    seeded: None, function: Callable[[str], ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    module = function("get_course")
    outcomes = []
    for _ in range(5):
        result = call(module, load_event("get_course", path_parameters={"course_id": "web0001"}))
        assert result.status == 200
        outcomes.append(result.headers["X-Cache"])
    # The first read bypasses Redis; the value then serves from the near cache for its TTL (1 s).
    assert outcomes[0] == "BYPASS"
    assert set(outcomes[1:]) <= {"HIT", "BYPASS"}
