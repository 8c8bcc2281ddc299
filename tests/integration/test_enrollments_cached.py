"""GET /me/enrollments through the cache: the user's list and the course summaries from Redis.

Warm, the route reads no DynamoDB at all; a miss is one Query and one BatchGetItem per 100.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
import redis

from courses_api.data.capacity import CapacityMeter, ReadCost
from courses_api.data.dynamo import batch_write
from tests.support.data import course_item
from tests.support.events import claims_for, load_event
from tests.support.functions import HttpResult, call
from tests.support.services import free_port

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

STUDENT = "student-0001"
OWNER = "instructor-0001"


def mine(module: ModuleType, claims: dict[str, Any], **query: str) -> tuple[HttpResult, ReadCost]:
    result = call(module, load_event("list_my_enrollments", claims=claims, query=query))
    cost = CapacityMeter.current()
    assert cost is not None
    return result, cost


def enroll_rows(dynamodb: DynamoDBClient, tables: dict[str, str], user_id: str, course_ids: list[str]) -> None:
    batch_write(dynamodb, tables["ENROLLMENTS_TABLE"], [
        {"user_id": user_id, "course_id": c, "enrolled_at": f"2026-11-01T10:{i:02d}:00.000000Z"}
        for i, c in enumerate(course_ids)
    ])


def record_queries(module: ModuleType) -> list[dict[str, Any]]:
    """The parameters of every Query the function's client sends."""
    seen: list[dict[str, Any]] = []
    module.container.dynamodb.meta.events.register(
        "provide-client-params.dynamodb.Query", lambda params, **_: seen.append(dict(params))
    )
    return seen


def record_batch_gets(module: ModuleType) -> list[dict[str, Any]]:
    """The RequestItems of every BatchGetItem the function's client sends."""
    seen: list[dict[str, Any]] = []
    module.container.dynamodb.meta.events.register(
        "before-parameter-build.dynamodb.BatchGetItem", lambda params, **_: seen.append(params["RequestItems"])
    )
    return seen


@pytest.fixture
def catalogue(tables: dict[str, str], dynamodb: DynamoDBClient) -> list[str]:
    """Twelve published courses, a draft of OWNER, and a deleted course, all enrolled in by STUDENT."""
    rows = [course_item(f"pub{i:04d}", title=f"Course {i}") for i in range(12)]
    rows.append(course_item("draft0001", status="draft", title="Draft"))
    batch_write(dynamodb, tables["COURSES_TABLE"], rows)
    ids = [r["course_id"] for r in rows] + ["gone0001"]
    enroll_rows(dynamodb, tables, STUDENT, ids)
    enroll_rows(dynamodb, tables, OWNER, ["draft0001", "pub0000"])
    return ids


def test_cold_reads_one_batch_and_warm_reads_none(
    catalogue: list[str], monkeypatch: pytest.MonkeyPatch, redis_url: str, redis_client: redis.Redis,
    function: Callable[[str], ModuleType], capsys: pytest.CaptureFixture[str],
) -> None:
    # The reference: the same route with no cache at all
    monkeypatch.setenv("REDIS_URL", "")
    uncached = function("list_my_enrollments")
    reference, reference_cost = mine(uncached, claims_for(STUDENT), limit="100")
    # one BatchGetItem of the courses: each row carries its count
    assert reference_cost.calls == {"Query": 1, "BatchGetItem": 1}

    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("NEAR_CACHE_TTL_S", "0")  # every warm read goes to Redis
    module = function("list_my_enrollments")
    batches = record_batch_gets(module)

    cold, cold_cost = mine(module, claims_for(STUDENT), limit="100")
    assert cold.status == 200
    assert cold_cost.calls == {"Query": 1, "BatchGetItem": 1}
    # the rows go into the item cache whole, read eventually consistently behind version fences
    (request,) = batches[0].values()
    assert "ConsistentRead" not in request
    assert "ProjectionExpression" not in request
    # every course is now cached, the deleted one as a negative entry
    for course_id in catalogue:
        assert redis_client.exists(module.container.cache.keys.item(course_id).value), course_id

    warm, warm_cost = mine(module, claims_for(STUDENT), limit="100")
    assert warm_cost.calls == {}, "warm: the enrollment list, the summaries and the counts come from Redis"
    assert len(batches) == 1
    # the same JSON, cold, warm and without a cache; no X-Cache on this private route
    assert cold.body == warm.body == reference.body
    assert "X-Cache" not in warm.headers
    assert warm.headers["Cache-Control"] == "private, no-store"
    items = {i["course_id"]: i["course"] for i in warm.body["items"]}
    assert items["gone0001"] is None
    assert items["draft0001"] is None, "a draft stays hidden from a student"
    assert items["pub0003"]["title"] == "Course 3"
    assert "description" not in items["pub0003"]
    with capsys.disabled():
        print(f"\n/me/enrollments, 14 enrollments: cold {cold_cost.computed_rcu:g} RCU, "
              f"warm {warm_cost.computed_rcu:g} RCU, no cache {reference_cost.computed_rcu:g} RCU")


def test_the_owner_sees_their_draft_from_the_same_cached_entry(
    catalogue: list[str], with_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch,
    function: Callable[[str], ModuleType],
) -> None:
    monkeypatch.setenv("NEAR_CACHE_TTL_S", "0")
    module = function("list_my_enrollments")
    student, _ = mine(module, claims_for(STUDENT))  # caches the draft's row
    assert {i["course_id"]: i["course"] for i in student.body["items"]}["draft0001"] is None
    owner, cost = mine(module, claims_for(OWNER, "instructors"))
    assert cost.calls == {"Query": 1}, "the owner's own list; every course (the draft too) is cached already"
    courses = {i["course_id"]: i["course"] for i in owner.body["items"]}
    assert courses["draft0001"]["status"] == "draft"
    assert courses["pub0000"]["title"] == "Course 0"


def test_a_write_invalidates_the_embedded_summary(
    catalogue: list[str], with_redis: redis.Redis, monkeypatch: pytest.MonkeyPatch,
    function: Callable[[str], ModuleType],
) -> None:
    monkeypatch.setenv("NEAR_CACHE_TTL_S", "0")  # the writer is another container
    module, update = function("list_my_enrollments"), function("update_course")
    mine(module, claims_for(STUDENT))
    event = load_event("update_course", path_parameters={"course_id": "pub0005"}, headers={"If-Match": '"1"'},
                       claims=claims_for(OWNER, "instructors"), body={"title": "Renamed"})
    assert call(update, event).status == 200
    result, cost = mine(module, claims_for(STUDENT))
    assert {i["course_id"]: i["course"] for i in result.body["items"]}["pub0005"]["title"] == "Renamed"
    assert cost.calls == {"BatchGetItem": 1}, "the enrollment list is still cached: a course edit is not an enrollment"
    assert cost.items_read == 1, "only the one changed course"


def test_enrolling_shows_at_once_in_the_warm_list(
    catalogue: list[str], with_redis: redis.Redis, tables: dict[str, str], dynamodb: Any,
    function: Callable[[str], ModuleType],
) -> None:
    # Given a student's list cached (the list function and the enroll function are two containers)
    batch_write(dynamodb, tables["COURSES_TABLE"], [course_item("new00001", title="New")])
    module, enroll = function("list_my_enrollments"), function("enroll")
    queries = record_queries(module)
    before, _ = mine(module, claims_for(STUDENT), limit="100")
    assert "new00001" not in {i["course_id"] for i in before.body["items"]}
    _, warm = mine(module, claims_for(STUDENT), limit="100")
    assert warm.calls == {}
    # no invalidation came before: the fill read eventually consistently (half the read units)
    assert [q["ConsistentRead"] for q in queries] == [False]

    # When they enroll in another course
    event = load_event("enroll", path_parameters={"course_id": "new00001"}, claims=claims_for(STUDENT))
    assert call(enroll, event).status == 201

    # Then their next read shows it (one Query refills the list, strongly consistent while the
    # enrollment's fence stands), and the one after is warm again
    after, cost = mine(module, claims_for(STUDENT), limit="100")
    assert {i["course_id"]: i["course"] for i in after.body["items"]}["new00001"]["title"] == "New"
    assert cost.calls.get("Query") == 1
    assert [q["ConsistentRead"] for q in queries] == [False, True]
    _, again = mine(module, claims_for(STUDENT), limit="100")
    assert again.calls == {}


def test_redis_down_serves_the_same_data_as_a_bypass(
    catalogue: list[str], monkeypatch: pytest.MonkeyPatch, function: Callable[[str], ModuleType],
) -> None:
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setenv("REDIS_CONNECT_TIMEOUT_MS", "50")
    module = function("list_my_enrollments")
    batches = record_batch_gets(module)
    for _ in range(3):
        result, cost = mine(module, claims_for(STUDENT), limit="100")
        assert result.status == 200
        assert cost.calls == {"Query": 1, "BatchGetItem": 1}
        items = {i["course_id"]: i["course"] for i in result.body["items"]}
        assert len(items) == 14
        assert items["pub0007"]["title"] == "Course 7"
        assert items["gone0001"] is None
        assert items["draft0001"] is None
    # nothing is stored, so eventually consistent reads (half the read units) will do
    assert all("ConsistentRead" not in request for batch in batches for request in batch.values())
