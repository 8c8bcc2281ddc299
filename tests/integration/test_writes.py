"""Authoring routes (POST, PATCH, DELETE /courses) through their handlers and events, against moto.

Covers the happy paths, every 4xx, optimistic locking under concurrent writers, and reads
after each write through a warm Redis cache.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
import redis

from courses_api.cache.config import SystemClock
from courses_api.data.dynamo import from_attributes
from courses_api.domain.auth import Caller
from courses_api.errors import PreconditionFailed
from courses_api.models import CoursePatch
from tests.integration.linearizable import serialize
from tests.support.clock import FakeClock
from tests.support.events import claims_for, load_event
from tests.support.functions import HttpResult, call, load_function
from tests.support.services import MotoEndpoint, free_port

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

OWNER = "instructor-0001"
OTHER = "instructor-0002"
ADMIN = "admin-0001"
STUDENT = "student-0001"

OWNER_CLAIMS = claims_for(OWNER, "instructors")
OTHER_CLAIMS = claims_for(OTHER, "instructors")
ADMIN_CLAIMS = claims_for(ADMIN, "admins")
STUDENT_CLAIMS = claims_for(STUDENT)

BODY: dict[str, Any] = {
    "title": "Serverless Python",
    "description": "Lambda, API Gateway and DynamoDB.",
    "category": "cloud-computing",
    "level": "intermediate",
    "price": 59.99,
    "tags": ["python", "aws"],
}


class Api:
    """The write functions and the read functions they must stay coherent with, one container each."""

    def __init__(self, function: Callable[[str], ModuleType]) -> None:
        self.create_fn = function("create_course")
        self.update_fn = function("update_course")
        self.delete_fn = function("delete_course")
        self.get_fn = function("get_course")
        self.list_fn = function("list_courses")
        self.instructor_fn = function("list_instructor_courses")

    def create(self, body: Any = None, claims: dict[str, Any] | None = None, **kwargs: Any) -> HttpResult:
        event = load_event("create_course", claims=OWNER_CLAIMS if claims is None else claims, **kwargs)
        if body is not None:
            event["body"] = json.dumps(body)
        return call(self.create_fn, event)

    def patch(
        self, course_id: str, body: Any, if_match: str | None, claims: dict[str, Any] | None = None, **kwargs: Any
    ) -> HttpResult:
        headers = {"If-Match": if_match}
        event = load_event(
            "update_course", path_parameters={"course_id": course_id}, headers=headers,
            claims=OWNER_CLAIMS if claims is None else claims, **kwargs,
        )
        if body is not None:
            event["body"] = json.dumps(body)
        return call(self.update_fn, event)

    def delete(self, course_id: str, if_match: str | None = None, claims: dict[str, Any] | None = None) -> HttpResult:
        event = load_event("delete_course", path_parameters={"course_id": course_id},
                           headers={"If-Match": if_match}, claims=OWNER_CLAIMS if claims is None else claims)
        return call(self.delete_fn, event)

    def get(self, course_id: str, claims: dict[str, Any] | None = None) -> HttpResult:
        kwargs: dict[str, Any] = {"claims": claims} if claims is not None else {}
        return call(self.get_fn, load_event("get_course", path_parameters={"course_id": course_id}, **kwargs))

    def list_ids(self, **query: str) -> list[str]:
        result = call(self.list_fn, load_event("list_courses", query={"limit": "100", **query}))
        assert result.status == 200, result.body
        return [item["course_id"] for item in result.body["items"]]

    def created(self, **overrides: Any) -> dict[str, Any]:
        result = self.create({**BODY, **overrides})
        assert result.status == 201, result.body
        return dict(result.body)


@pytest.fixture
def api(
    tables: dict[str, str], without_redis: None, moto_endpoint: MotoEndpoint, function: Callable[[str], ModuleType],
    monkeypatch: pytest.MonkeyPatch,
) -> Api:
    serialize(moto_endpoint)  # DynamoDB is linearizable; moto is not unless serialized
    monkeypatch.setenv("DYNAMODB_READ_TIMEOUT_S", "20")  # queued requests on a busy moto are slow, not lost
    return Api(function)


@pytest.fixture
def cached_api(
    tables: dict[str, str], with_redis: redis.Redis, function: Callable[[str], ModuleType],
    monkeypatch: pytest.MonkeyPatch,
) -> Api:
    """Redis tier only: the in-process near cache of *another* container cannot be invalidated
    by a write (the spec bounds that staleness by its TTL, tested separately), so it is off here."""
    monkeypatch.setenv("NEAR_CACHE_TTL_S", "0")
    return Api(function)


def stored(dynamodb: DynamoDBClient, tables: dict[str, str], course_id: str) -> dict[str, Any] | None:
    item = dynamodb.get_item(TableName=tables["COURSES_TABLE"], Key={"course_id": {"S": course_id}},
                             ConsistentRead=True).get("Item")
    return from_attributes(item) if item else None


class TestCreate:
    def test_creates_a_draft_owned_by_the_caller(
        self, api: Api, dynamodb: DynamoDBClient, tables: dict[str, str]
    ) -> None:
        result = api.create(BODY)
        assert result.status == 201
        course = result.body
        assert result.headers["Location"] == f"/courses/{course['course_id']}"
        assert result.headers["ETag"] == 'W/"1.0"'
        assert course["instructor_id"] == OWNER
        assert course["status"] == "draft"
        assert course["version"] == 1
        assert course["enrollment_count"] == 0
        assert course["published_at"] is None
        assert course["created_at"] == course["updated_at"]
        assert course["price"] == 59.99
        row = stored(dynamodb, tables, course["course_id"])
        assert row is not None
        assert "published_at" not in row
        assert str(row["price"]) == "59.99"

    def test_published_on_create_sets_published_at_and_is_listed(self, api: Api) -> None:
        course = api.created(status="published")
        assert course["published_at"] == course["created_at"]
        assert course["course_id"] in api.list_ids()
        assert course["course_id"] in api.list_ids(category="cloud-computing")

    def test_ids_are_generated_server_side_and_unique(self, api: Api) -> None:
        ids = {api.created()["course_id"] for _ in range(5)}
        assert len(ids) == 5
        result = api.create({**BODY, "course_id": "mine"})
        assert result.status == 422

    def test_admin_may_create(self, api: Api) -> None:
        result = api.create(BODY, claims=ADMIN_CLAIMS)
        assert result.status == 201
        assert result.body["instructor_id"] == ADMIN

    def test_anonymous_gets_401_and_student_403(self, api: Api) -> None:
        assert api.create(BODY, claims={}).problem["status"] == 401
        assert api.create(BODY, claims=STUDENT_CLAIMS).problem["status"] == 403

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({**BODY, "instructor_id": "someone"}, "instructor_id"),  # unknown / server-maintained field
            ({**BODY, "enrollment_count": 1000}, "enrollment_count"),
            ({**BODY, "title": 123}, "title"),  # wrong type
            ({**BODY, "title": ""}, "title"),
            ({**BODY, "title": "x" * 201}, "title"),
            ({**BODY, "price": "cheap"}, "price"),
            ({**BODY, "price": -1}, "price"),  # out of range
            ({**BODY, "price": 100_000.01}, "price"),
            ({**BODY, "price": 1.234}, "price"),
            ({**BODY, "level": "expert"}, "level"),
            ({**BODY, "category": "Not A Slug"}, "category"),
            ({**BODY, "tags": [f"t{i}" for i in range(11)]}, "tags"),
            ({**BODY, "tags": "python"}, "tags"),
            ({**BODY, "status": "deleted"}, "status"),
            ({**BODY, "description": "x" * 5001}, "description"),
            ({k: v for k, v in BODY.items() if k != "title"}, "title"),  # missing
        ],
    )
    def test_invalid_bodies_are_422_with_field_errors(self, api: Api, body: dict[str, Any], field: str) -> None:
        problem = api.create(body).problem
        assert problem["status"] == 422
        assert any(field in error["loc"] for error in problem["errors"]), problem

    @pytest.mark.parametrize("raw", ["{", "not json", '{"title": "x",}'])
    def test_malformed_json_is_400(self, api: Api, raw: str) -> None:
        result = call(api.create_fn, load_event("create_course", claims=OWNER_CLAIMS, raw_body=raw))
        assert result.problem["status"] == 400

    @pytest.mark.parametrize("raw", ["[]", "null", '"a string"', "42"])
    def test_a_body_that_is_not_an_object_is_4xx(self, api: Api, raw: str) -> None:
        result = call(api.create_fn, load_event("create_course", claims=OWNER_CLAIMS, raw_body=raw))
        assert 400 <= result.problem["status"] < 500

    def test_oversize_body_is_413(self, api: Api, dynamodb: DynamoDBClient, tables: dict[str, str]) -> None:
        body = {**BODY, "description": "x" * (70 * 1024)}
        problem = api.create(body).problem
        assert problem["status"] == 413
        assert "limit" in problem["detail"]
        assert dynamodb.query(  # nothing was written
            TableName=tables["COURSES_TABLE"], IndexName="ByInstructor",
            KeyConditionExpression="instructor_id = :i", ExpressionAttributeValues={":i": {"S": OWNER}},
        )["Count"] == 0


class TestPatch:
    def test_patch_changes_fields_and_bumps_version(self, api: Api) -> None:
        course = api.created()
        result = api.patch(course["course_id"], {"title": "Serverless Python, 2nd edition", "price": 10}, '"1"')
        assert result.status == 200, result.body
        assert result.headers["ETag"] == 'W/"2.0"'
        assert result.body["version"] == 2
        assert result.body["title"] == "Serverless Python, 2nd edition"
        assert result.body["price"] == 10
        assert result.body["updated_at"] > course["updated_at"]
        assert result.body["created_at"] == course["created_at"]
        # Then the stored course is exactly what the PATCH answered
        read = api.get(course["course_id"], claims=OWNER_CLAIMS)
        assert read.body == result.body
        assert read.headers["ETag"] == 'W/"2.0"'

    def test_publish_sets_published_at_and_unpublish_removes_it(
        self, api: Api, dynamodb: DynamoDBClient, tables: dict[str, str]
    ) -> None:
        course_id = api.created()["course_id"]
        assert course_id not in api.list_ids()
        published = api.patch(course_id, {"status": "published"}, '"1"').body
        assert published["published_at"] is not None
        assert course_id in api.list_ids()
        assert course_id in api.list_ids(category="cloud-computing")
        # re-publishing keeps the original published_at
        again = api.patch(course_id, {"status": "published", "title": "New"}, '"2"').body
        assert again["published_at"] == published["published_at"]
        archived = api.patch(course_id, {"status": "archived"}, '"3"').body
        assert archived["published_at"] is None
        row = stored(dynamodb, tables, course_id)
        assert row is not None
        assert "published_at" not in row
        assert course_id not in api.list_ids()
        assert course_id not in api.list_ids(category="cloud-computing")

    def test_without_if_match_is_428(self, api: Api) -> None:
        course_id = api.created()["course_id"]
        assert api.patch(course_id, {"title": "x"}, None).problem["status"] == 428
        assert api.patch(course_id, {"title": "x"}, "*").problem["status"] == 428

    def test_stale_if_match_is_412_with_the_current_etag(self, api: Api) -> None:
        course_id = api.created()["course_id"]
        assert api.patch(course_id, {"title": "first"}, '"1"').status == 200
        result = api.patch(course_id, {"title": "second"}, '"1"')
        assert result.problem["status"] == 412
        assert result.headers["ETag"] == '"2"'
        assert api.get(course_id, claims=OWNER_CLAIMS).body["title"] == "first"

    def test_weak_etag_form_is_accepted(self, api: Api) -> None:
        course_id = api.created()["course_id"]
        assert api.patch(course_id, {"title": "weak"}, 'W/"1"').status == 200

    @pytest.mark.parametrize("if_match", ['"abc"', "1.5.2", '"-1"', "x" * 65])
    def test_unparseable_if_match_is_400(self, api: Api, if_match: str) -> None:
        course_id = api.created()["course_id"]
        assert api.patch(course_id, {"title": "x"}, if_match).problem["status"] == 400

    def test_other_instructor_gets_403_on_published_and_404_on_draft(self, api: Api) -> None:
        draft = api.created()["course_id"]
        published = api.created(status="published")["course_id"]
        assert api.patch(published, {"title": "mine"}, '"1"', claims=OTHER_CLAIMS).problem["status"] == 403
        assert api.patch(draft, {"title": "mine"}, '"1"', claims=OTHER_CLAIMS).problem["status"] == 404
        assert api.patch(published, {"title": "mine"}, '"1"', claims=STUDENT_CLAIMS).problem["status"] == 403
        assert api.patch(published, {"title": "mine"}, '"1"', claims={}).problem["status"] == 401
        assert api.get(published).body["title"] == BODY["title"]

    def test_admin_may_patch_any_course(self, api: Api) -> None:
        course_id = api.created()["course_id"]
        result = api.patch(course_id, {"title": "by admin"}, '"1"', claims=ADMIN_CLAIMS)
        assert result.status == 200
        assert result.body["instructor_id"] == OWNER

    def test_unknown_course_is_404(self, api: Api) -> None:
        assert api.patch("nope", {"title": "x"}, '"1"').problem["status"] == 404

    @pytest.mark.parametrize(
        "body",
        [{}, {"title": None}, {"instructor_id": "me"}, {"version": 7}, {"price": 1e9}, {"status": "gone"}, []],
    )
    def test_invalid_patch_bodies_are_422(self, api: Api, body: Any) -> None:
        course_id = api.created()["course_id"]
        assert api.patch(course_id, body, '"1"').problem["status"] == 422
        assert api.get(course_id, claims=OWNER_CLAIMS).body["version"] == 1

    @pytest.mark.parametrize("course_id", ["has space", "a" * 65, "semi;colon"])
    def test_bad_path_ids_are_400(self, api: Api, course_id: str) -> None:
        assert api.patch(course_id, {"title": "x"}, '"1"').problem["status"] == 400

    def test_oversize_patch_is_413(self, api: Api) -> None:
        course_id = api.created()["course_id"]
        assert api.patch(course_id, {"description": "x" * 70_000}, '"1"').problem["status"] == 413

    def test_concurrent_patches_with_the_same_if_match_have_exactly_one_winner(self, api: Api) -> None:
        # Given a course at version 1 and 12 writers who all read version 1, each in a container
        # of its own (Powertools keeps the current event in process-wide class attributes, so
        # different events resolved concurrently in one process would read each other's
        # bodies; Lambda never runs two requests in one process, so the writers race in the
        # service, where the DynamoDB race under test is)
        course_id = api.created()["course_id"]
        writers = 12
        barrier = threading.Barrier(writers)
        services = [load_function("update_course").container.course_writes for _ in range(writers)]
        owner = Caller(OWNER, frozenset({"instructors"}))

        def write(index: int) -> tuple[int, str]:
            barrier.wait()
            patch = CoursePatch.model_validate({"title": f"writer {index}"})
            try:
                services[index].update(owner, course_id, patch, expected_version=1)
            except PreconditionFailed:
                return 412, f"writer {index}"
            return 200, f"writer {index}"

        # When they all PATCH at once
        with ThreadPoolExecutor(max_workers=writers) as pool:
            outcomes = list(pool.map(write, range(writers)))
        # Then exactly one wins, every other one is told its version is stale, and nothing is lost
        statuses = Counter(status for status, _ in outcomes)
        assert statuses == {200: 1, 412: writers - 1}, statuses
        winner = next(title for status, title in outcomes if status == 200)
        final = api.get(course_id, claims=OWNER_CLAIMS).body
        assert final["version"] == 2
        assert final["title"] == winner

    def test_sequential_writers_each_win_when_they_send_the_latest_etag(self, api: Api) -> None:
        course_id = api.created()["course_id"]
        etag = '"1"'
        for i in range(5):
            result = api.patch(course_id, {"tags": [f"t{i}"]}, etag)
            assert result.status == 200
            etag = result.headers["ETag"]
        assert api.get(course_id, claims=OWNER_CLAIMS).body["version"] == 6


class TestDelete:
    def test_owner_deletes_and_the_course_is_gone(self, api: Api) -> None:
        course_id = api.created(status="published")["course_id"]
        result = api.delete(course_id)
        assert result.status == 204
        assert result.body is None
        assert api.get(course_id).status == 404
        assert course_id not in api.list_ids()
        assert api.delete(course_id).problem["status"] == 404

    def test_if_match_is_honoured_when_sent(self, api: Api) -> None:
        course_id = api.created()["course_id"]
        result = api.delete(course_id, if_match='"7"')
        assert result.problem["status"] == 412
        assert result.headers["ETag"] == '"1"'
        assert api.delete(course_id, if_match='"1"').status == 204

    def test_others_may_not_delete(self, api: Api) -> None:
        draft = api.created()["course_id"]
        published = api.created(status="published")["course_id"]
        assert api.delete(published, claims=OTHER_CLAIMS).problem["status"] == 403
        assert api.delete(draft, claims=OTHER_CLAIMS).problem["status"] == 404
        assert api.delete(published, claims={}).problem["status"] == 401
        assert api.get(published).status == 200

    def test_admin_may_delete(self, api: Api) -> None:
        course_id = api.created()["course_id"]
        assert api.delete(course_id, claims=ADMIN_CLAIMS).status == 204

    def test_bad_id_is_400(self, api: Api) -> None:
        assert api.delete("bad id").problem["status"] == 400


class TestReadAfterWriteThroughWarmCache:
    """Each write is followed by reads that went through (and warmed) the Redis tier before it."""

    def test_patch_then_get_and_lists_return_new_data(self, cached_api: Api) -> None:
        api = cached_api
        course_id = api.created(status="published")["course_id"]
        # warm: item and list pages cached (a second read is a HIT)
        assert api.get(course_id).headers["X-Cache"] == "MISS"
        assert api.get(course_id).headers["X-Cache"] == "HIT"
        assert course_id in api.list_ids(category="cloud-computing")
        assert course_id in api.list_ids(category="cloud-computing")
        assert course_id not in api.list_ids(category="data-science")
        # when the course changes title and category
        result = api.patch(course_id, {"title": "Moved", "category": "data-science"}, '"1"')
        assert result.status == 200
        # then the item read, by anyone, is the new version
        read = api.get(course_id)
        assert read.body["title"] == "Moved"
        assert read.headers["ETag"] == 'W/"2.0"'
        # and it left the old category's list and joined the new one
        assert course_id not in api.list_ids(category="cloud-computing")
        assert course_id in api.list_ids(category="data-science")
        listed = call(api.list_fn, load_event("list_courses", query={"limit": "100"})).body["items"]
        assert [c["title"] for c in listed if c["course_id"] == course_id] == ["Moved"]

    def test_an_edit_that_moves_no_course_keeps_the_pages_and_shows_through_them(
        self, cached_api: Api, with_redis: redis.Redis
    ) -> None:
        api = cached_api
        course_id = api.created(status="published")["course_id"]
        # The creation's list fences expire on Redis's clock, which no test clock drives: drop
        # them as their expiry would, so index pages may be stored again.
        for fence in with_redis.scan_iter(match="*:gen:*:fence"):
            with_redis.delete(fence)
        event = load_event("list_courses", query={"category": "cloud-computing", "limit": "100"})
        assert call(api.list_fn, event).headers["X-Cache"] == "MISS"
        assert call(api.list_fn, event).headers["X-Cache"] == "HIT"
        # when only the title and price change
        assert api.patch(course_id, {"title": "Renamed", "price": "12.50"}, '"1"').status == 200
        # then the cached page (ids only) still serves, with the course as its item entry now is
        listed = call(api.list_fn, event)
        assert listed.headers["X-Cache"] == "HIT"
        assert [(c["title"], c["price"], c["version"]) for c in listed.body["items"]
                if c["course_id"] == course_id] == [("Renamed", 12.5, 2)]

    def test_unpublish_then_reads_hide_it(self, cached_api: Api) -> None:
        api = cached_api
        course_id = api.created(status="published")["course_id"]
        api.get(course_id)
        api.list_ids()
        assert api.patch(course_id, {"status": "draft"}, '"1"').status == 200
        assert api.get(course_id).status == 404  # drafts are invisible to the public
        assert api.get(course_id, claims=OWNER_CLAIMS).body["status"] == "draft"
        assert course_id not in api.list_ids()

    def test_owner_list_shows_a_new_draft_at_once(self, cached_api: Api) -> None:
        api = cached_api
        event = load_event("list_instructor_courses", path_parameters={"instructor_id": OWNER}, claims=OWNER_CLAIMS)
        assert call(api.instructor_fn, event).body["items"] == []
        course_id = api.created()["course_id"]
        assert [c["course_id"] for c in call(api.instructor_fn, event).body["items"]] == [course_id]

    def test_delete_then_get_is_404(self, cached_api: Api) -> None:
        api = cached_api
        course_id = api.created(status="published")["course_id"]
        api.get(course_id)
        assert api.get(course_id).headers["X-Cache"] == "HIT"
        assert api.delete(course_id).status == 204
        assert api.get(course_id).status == 404
        assert course_id not in api.list_ids()

    def test_with_the_near_cache_on_writers_read_their_writes_and_others_within_its_ttl(
        self, tables: dict[str, str], with_redis: redis.Redis, function: Callable[[str], ModuleType],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("NEAR_CACHE_TTL_S", "0.5")
        clock = FakeClock()  # every clock of the containers' caches (built on first use)
        for name in ("monotonic", "time", "sleep"):
            monkeypatch.setattr(SystemClock, name, getattr(FakeClock, name).__get__(clock))
        api = Api(function)
        course_id = api.created(status="published")["course_id"]
        for claims in (None, OWNER_CLAIMS, None, OWNER_CLAIMS):  # warm both tiers for both kinds of reader
            api.get(course_id, claims=claims)
        assert api.patch(course_id, {"title": "Fresh"}, '"1"').status == 200
        # the owner skips the near cache: their own write, at once
        assert api.get(course_id, claims=OWNER_CLAIMS).body["title"] == "Fresh"
        # an anonymous reader of another container sees it once its near entry expires (≤ TTL)
        clock.advance(0.6)
        assert api.get(course_id).body["title"] == "Fresh"

    def test_writes_succeed_while_redis_is_down(
        self, tables: dict[str, str], function: Callable[[str], ModuleType], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
        api = Api(function)
        course_id = api.created(status="published")["course_id"]
        assert api.patch(course_id, {"title": "still works"}, '"1"').status == 200
        assert api.get(course_id).body["title"] == "still works"
        assert api.delete(course_id, if_match='"2"').status == 204
