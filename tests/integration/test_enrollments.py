"""Enrollment routes through their handlers and events, against moto over HTTP (and real Redis)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
import redis

from courses_api.data.capacity import CapacityMeter
from courses_api.data.dynamo import batch_write, from_attributes
from courses_api.data.enrollments import ROSTER_SHARDS, WIDE_AT, roster_partition
from courses_api.domain.auth import Caller
from courses_api.domain.idempotency import KEY_PREFIX
from tests.integration.linearizable import serialize
from tests.support.data import course_item
from tests.support.events import claims_for, load_event
from tests.support.functions import HttpResult, call, load_function
from tests.support.services import MotoEndpoint
from tests.support.streams import Counts, StreamReader, settle

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

OWNER = "instructor-0001"
OTHER = "instructor-0002"
OWNER_CLAIMS = claims_for(OWNER, "instructors")
OTHER_CLAIMS = claims_for(OTHER, "instructors")
ADMIN_CLAIMS = claims_for("admin-0001", "admins")


def student(n: int = 1) -> dict[str, Any]:
    return claims_for(f"student-{n:04d}")


class Api:
    def __init__(self, function: Callable[[str], ModuleType]) -> None:
        self.enroll_fn = function("enroll")
        self.mine_fn = function("list_my_enrollments")
        self.roster_fn = function("list_course_enrollments")
        self.get_fn = function("get_course")
        self.update_fn = function("update_course")

    def enroll(self, course_id: str, claims: dict[str, Any], key: str | None = None) -> HttpResult:
        headers = {"Idempotency-Key": key} if key is not None else None
        event = load_event("enroll", path_parameters={"course_id": course_id}, claims=claims, headers=headers)
        return call(self.enroll_fn, event)

    def mine(self, claims: dict[str, Any], **query: str) -> HttpResult:
        return call(self.mine_fn, load_event("list_my_enrollments", claims=claims, query=query))

    def roster(self, course_id: str, claims: dict[str, Any], **query: str) -> HttpResult:
        event = load_event("list_course_enrollments", path_parameters={"course_id": course_id},
                           claims=claims, query=query)
        return call(self.roster_fn, event)

    def get(self, course_id: str) -> HttpResult:
        return call(self.get_fn, load_event("get_course", path_parameters={"course_id": course_id}))


@pytest.fixture
def courses(tables: dict[str, str], dynamodb: DynamoDBClient) -> dict[str, str]:
    """A published course, a draft and an archived one of OWNER; name → id."""
    rows = {
        "published": course_item("pub0001"),
        "draft": course_item("draft0001", status="draft"),
        "archived": course_item("arch0001", status="archived"),
    }
    batch_write(dynamodb, tables["COURSES_TABLE"], rows.values())
    return {name: row["course_id"] for name, row in rows.items()}


@pytest.fixture
def api(
    courses: dict[str, str], without_redis: None, moto_endpoint: MotoEndpoint, function: Callable[[str], ModuleType],
    monkeypatch: pytest.MonkeyPatch,
) -> Api:
    serialize(moto_endpoint)  # DynamoDB is linearizable; moto is not unless serialized
    # moto deep-copies every table of the process per transaction, so queued concurrent
    # transactions can take seconds: no client timeout (and SDK retry) in the middle of a test
    monkeypatch.setenv("DYNAMODB_READ_TIMEOUT_S", "20")
    return Api(function)


@pytest.fixture
def copy_counts(moto_endpoint: MotoEndpoint, dynamodb: DynamoDBClient, tables: dict[str, str]) -> Callable[[], int]:
    """Close the enrollment counter's window: the counts so far reach the course rows."""
    counts = Counts(moto_endpoint.url, dynamodb, tables["ENROLLMENTS_TABLE"], tables["COURSES_TABLE"])
    return counts.close_window


_COUNTS: dict[str, Counts] = {}


def count_of(dynamodb: DynamoDBClient, tables: dict[str, str], course_id: str) -> int:
    """The course's count as stored, once the enrollment counter has seen every enrollment so far."""
    table = tables["ENROLLMENTS_TABLE"]
    if table not in _COUNTS:  # one stream position per test's tables
        _COUNTS[table] = Counts(str(dynamodb.meta.endpoint_url), dynamodb, table, tables["COURSES_TABLE"])
    return _COUNTS[table].count_of(course_id)


def enrollment_rows(dynamodb: DynamoDBClient, tables: dict[str, str], user_id: str) -> list[dict[str, Any]]:
    response = dynamodb.query(TableName=tables["ENROLLMENTS_TABLE"], KeyConditionExpression="user_id = :u",
                              ExpressionAttributeValues={":u": {"S": user_id}}, ConsistentRead=True)
    return [from_attributes(i) for i in response["Items"]]


class TestEnroll:
    def test_first_enrollment_is_201_and_counts_once(
        self, api: Api, courses: dict[str, str], dynamodb: DynamoDBClient, tables: dict[str, str]
    ) -> None:
        course_id = courses["published"]
        first = api.enroll(course_id, student())
        assert first.status == 201, first.body
        assert first.body["user_id"] == "student-0001"
        assert first.body["course_id"] == course_id
        # a repeat is not an error, creates nothing and returns the existing enrollment
        again = api.enroll(course_id, student())
        assert again.status == 200
        assert again.body == first.body
        assert count_of(dynamodb, tables, course_id) == 1
        assert len(enrollment_rows(dynamodb, tables, "student-0001")) == 1

    def test_count_is_per_user(
        self, api: Api, courses: dict[str, str], dynamodb: DynamoDBClient, tables: dict[str, str]
    ) -> None:
        for n in range(3):
            assert api.enroll(courses["published"], student(n)).status == 201
        assert count_of(dynamodb, tables, courses["published"]) == 3

    def test_unknown_draft_and_archived_courses(
        self, api: Api, courses: dict[str, str], dynamodb: DynamoDBClient, tables: dict[str, str]
    ) -> None:
        assert api.enroll("nope", student()).problem["status"] == 404
        # drafts and archived courses are invisible to students: 404, not a hint they exist
        assert api.enroll(courses["draft"], student()).problem["status"] == 404
        assert api.enroll(courses["archived"], student()).problem["status"] == 404
        # their owner is told why
        problem = api.enroll(courses["draft"], OWNER_CLAIMS).problem
        assert problem["status"] == 409
        assert "draft" in problem["detail"]
        assert enrollment_rows(dynamodb, tables, "student-0001") == []
        assert count_of(dynamodb, tables, courses["draft"]) == 0

    def test_anonymous_is_401_and_bad_id_400(self, api: Api, courses: dict[str, str]) -> None:
        assert api.enroll(courses["published"], {}).problem["status"] == 401
        assert api.enroll("bad id!", student()).problem["status"] == 400

    def test_oversize_body_is_413(self, api: Api, courses: dict[str, str]) -> None:
        event = load_event("enroll", path_parameters={"course_id": courses["published"]}, claims=student(),
                           raw_body="x" * 70_000)
        assert call(api.enroll_fn, event).problem["status"] == 413

    def test_concurrent_repeats_count_once(
        self, api: Api, courses: dict[str, str], dynamodb: DynamoDBClient, tables: dict[str, str]
    ) -> None:
        # Given one student double-clicking from 10 tabs at once
        course_id = courses["published"]
        clicks = 10
        barrier = threading.Barrier(clicks)

        def click(_: int) -> int:
            barrier.wait()
            return api.enroll(course_id, student()).status

        with ThreadPoolExecutor(max_workers=clicks) as pool:
            statuses = Counter(pool.map(click, range(clicks)))
        # Then one request created the enrollment, the rest saw it, and the count moved once
        assert statuses == {201: 1, 200: clicks - 1}, statuses
        assert count_of(dynamodb, tables, course_id) == 1
        assert len(enrollment_rows(dynamodb, tables, "student-0001")) == 1

    def test_concurrent_different_students_are_all_counted(
        self, api: Api, courses: dict[str, str], dynamodb: DynamoDBClient, tables: dict[str, str]
    ) -> None:
        # Different callers race in the service, each in a container of its own: Powertools keeps
        # the current event in process-wide class attributes (BaseRouter.current_event), so
        # concurrent *different* events through resolvers in one process would read each
        # other's claims. Lambda never runs two requests in one process; the race under test
        # is DynamoDB's, which this reaches exactly as the handler would.
        course_id = courses["published"]
        students = 10
        barrier = threading.Barrier(students)
        services = [load_function("enroll").container.enrollment_service for _ in range(students)]

        def enroll(n: int) -> bool:
            barrier.wait()
            created: bool = services[n].enroll(Caller(f"student-{n:04d}"), course_id).created
            return created

        with ThreadPoolExecutor(max_workers=students) as pool:
            created = list(pool.map(enroll, range(students)))
        assert created == [True] * students
        assert count_of(dynamodb, tables, course_id) == students

    def test_enrolling_does_not_change_the_version(self, api: Api, courses: dict[str, str]) -> None:
        # the ETag guards authored content: students enrolling must not make an author's If-Match stale
        assert api.enroll(courses["published"], student()).status == 201
        event = load_event("update_course", path_parameters={"course_id": courses["published"]},
                           headers={"If-Match": '"1"'}, claims=OWNER_CLAIMS, body={"title": "Still v1"})
        assert call(api.update_fn, event).status == 200


class TestIdempotencyKey:
    def test_a_retry_with_the_key_gets_the_first_response(
        self, api: Api, courses: dict[str, str], dynamodb: DynamoDBClient, tables: dict[str, str]
    ) -> None:
        key = "retry-key-0001"
        first = api.enroll(courses["published"], student(), key=key)
        second = api.enroll(courses["published"], student(), key=key)
        assert (first.status, second.status) == (201, 201)
        assert second.body == first.body
        # without the key a repeat is the ordinary "already enrolled"
        assert api.enroll(courses["published"], student()).status == 200
        assert count_of(dynamodb, tables, courses["published"]) == 1
        # the record is in DynamoDB (not Redis), keyed by the caller and the key, with a TTL
        record_id = KEY_PREFIX + "#" + hashlib.md5(json.dumps(["student-0001", key]).encode()).hexdigest()
        record = dynamodb.get_item(TableName=tables["IDEMPOTENCY_TABLE"], Key={"id": {"S": record_id}})["Item"]
        assert record["status"]["S"] == "COMPLETED"
        assert "expiration" in record

    def test_the_same_key_for_another_course_is_422(self, api: Api, courses: dict[str, str], tables: dict[str, str],
                                                     dynamodb: DynamoDBClient) -> None:
        batch_write(dynamodb, tables["COURSES_TABLE"], [course_item("pub0002")])
        assert api.enroll(courses["published"], student(), key="shared-key-01").status == 201
        assert api.enroll("pub0002", student(), key="shared-key-01").problem["status"] == 422
        assert count_of(dynamodb, tables, "pub0002") == 0

    def test_keys_are_scoped_to_the_caller(self, api: Api, courses: dict[str, str], dynamodb: DynamoDBClient,
                                           tables: dict[str, str]) -> None:
        first = api.enroll(courses["published"], student(1), key="same-key-0001")
        second = api.enroll(courses["published"], student(2), key="same-key-0001")
        assert (first.status, second.status) == (201, 201)
        assert second.body["user_id"] == "student-0002"
        assert count_of(dynamodb, tables, courses["published"]) == 2

    def test_a_failed_request_is_not_stored(self, api: Api, courses: dict[str, str]) -> None:
        assert api.enroll(courses["draft"], student(), key="failed-key-01").problem["status"] == 404
        assert api.enroll(courses["draft"], student(), key="failed-key-01").problem["status"] == 404

    @pytest.mark.parametrize("key", ["short", "has space in it", "x" * 129])
    def test_invalid_keys_are_400(self, api: Api, courses: dict[str, str], key: str) -> None:
        assert api.enroll(courses["published"], student(), key=key).problem["status"] == 400

    def test_concurrent_retries_with_one_key_count_once(
        self, api: Api, courses: dict[str, str], dynamodb: DynamoDBClient, tables: dict[str, str]
    ) -> None:
        retries = 8
        barrier = threading.Barrier(retries)

        def retry(_: int) -> int:
            barrier.wait()
            return api.enroll(courses["published"], student(), key="concurrent-key").status

        with ThreadPoolExecutor(max_workers=retries) as pool:
            statuses = Counter(pool.map(retry, range(retries)))
        # each retry either replays 201, finds the enrollment (200) or is told the first is in progress (409)
        assert set(statuses) <= {200, 201, 409}, statuses
        assert statuses[201] >= 1
        assert count_of(dynamodb, tables, courses["published"]) == 1


class TestMyEnrollments:
    def test_lists_own_enrollments_with_course_summaries(
        self, api: Api, courses: dict[str, str], dynamodb: DynamoDBClient, tables: dict[str, str],
        copy_counts: Callable[[], int],
    ) -> None:
        batch_write(dynamodb, tables["COURSES_TABLE"], [course_item(f"more{i:04d}") for i in range(3)])
        for course_id in ["pub0001", "more0000", "more0001", "more0002"]:
            assert api.enroll(course_id, student()).status == 201
        assert api.enroll("more0000", student(2)).status == 201
        copy_counts()
        result = api.mine(student())
        assert result.status == 200
        assert result.headers["Cache-Control"] == "private, no-store"
        items = result.body["items"]
        assert sorted(i["course_id"] for i in items) == ["more0000", "more0001", "more0002", "pub0001"]
        pub = next(i for i in items if i["course_id"] == "pub0001")
        assert pub["course"]["title"] == "Modern Web Development"
        assert pub["course"]["enrollment_count"] == 1
        assert "description" not in pub["course"]
        assert result.body["next_cursor"] is None
        # another user sees only their own
        assert [i["course_id"] for i in api.mine(student(2)).body["items"]] == ["more0000"]

    def test_one_query_and_one_batch_get_for_a_page(
        self, api: Api, courses: dict[str, str], dynamodb: DynamoDBClient, tables: dict[str, str]
    ) -> None:
        # Given 50 enrollments of one student
        rows = [course_item(f"c{i:04d}") for i in range(50)]
        batch_write(dynamodb, tables["COURSES_TABLE"], rows)
        batch_write(dynamodb, tables["ENROLLMENTS_TABLE"], [
            {"user_id": "student-0001", "course_id": r["course_id"], "enrolled_at": f"2026-11-0{1 + i % 9}T00:00:00Z"}
            for i, r in enumerate(rows)
        ])
        # When they list them in one page
        result = api.mine(student(), limit="100")
        cost = CapacityMeter.current()
        # Then every summary is embedded, fetched with one Query and one BatchGetItem: each
        # course row carries its count, so counts cost no call of their own
        assert result.status == 200
        assert len(result.body["items"]) == 50
        assert all(i["course"] is not None for i in result.body["items"])
        assert cost is not None
        assert cost.calls == {"Query": 1, "BatchGetItem": 1}

    def test_pages_follow_the_cursor(self, api: Api, courses: dict[str, str], dynamodb: DynamoDBClient,
                                     tables: dict[str, str]) -> None:
        rows = [course_item(f"c{i:04d}") for i in range(7)]
        batch_write(dynamodb, tables["COURSES_TABLE"], rows)
        for row in rows:
            api.enroll(row["course_id"], student())
        seen: list[str] = []
        query = {"limit": "3"}
        for _ in range(5):
            page = api.mine(student(), **query).body
            seen += [i["course_id"] for i in page["items"]]
            if page["next_cursor"] is None:
                break
            query["cursor"] = page["next_cursor"]
        assert sorted(seen) == sorted(r["course_id"] for r in rows)
        assert len(seen) == len(set(seen))

    def test_cursor_of_another_user_is_400(self, api: Api, courses: dict[str, str], dynamodb: DynamoDBClient,
                                           tables: dict[str, str]) -> None:
        rows = [course_item(f"c{i:04d}") for i in range(3)]
        batch_write(dynamodb, tables["COURSES_TABLE"], rows)
        for row in rows:
            api.enroll(row["course_id"], student(1))
        cursor = api.mine(student(1), limit="1").body["next_cursor"]
        assert cursor
        assert api.mine(student(2), limit="1", cursor=cursor).problem["status"] == 400
        assert api.mine(student(1), limit="1", cursor=cursor + "x").problem["status"] == 400

    def test_deleted_course_shows_null_and_an_unpublished_draft_is_hidden(
        self, api: Api, courses: dict[str, str], dynamodb: DynamoDBClient, tables: dict[str, str]
    ) -> None:
        batch_write(dynamodb, tables["COURSES_TABLE"], [course_item("gone0001"), course_item("hide0001")])
        for course_id in ("gone0001", "hide0001", "pub0001"):
            assert api.enroll(course_id, student()).status == 201
        dynamodb.delete_item(TableName=tables["COURSES_TABLE"], Key={"course_id": {"S": "gone0001"}})
        dynamodb.update_item(TableName=tables["COURSES_TABLE"], Key={"course_id": {"S": "hide0001"}},
                             UpdateExpression="SET #s = :d REMOVE published_at",
                             ExpressionAttributeNames={"#s": "status"},
                             ExpressionAttributeValues={":d": {"S": "draft"}})
        items = {i["course_id"]: i["course"] for i in api.mine(student()).body["items"]}
        assert items["gone0001"] is None
        assert items["hide0001"] is None
        assert items["pub0001"] is not None

    @pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"cursor": "garbage"}])
    def test_bad_parameters_are_400(self, api: Api, query: dict[str, str]) -> None:
        assert api.mine(student(), **query).problem["status"] == 400

    def test_anonymous_is_401(self, api: Api) -> None:
        assert api.mine({}).problem["status"] == 401

    def test_empty_list(self, api: Api) -> None:
        result = api.mine(student())
        assert result.body == {"items": [], "next_cursor": None}
        assert CapacityMeter.current() is not None
        assert CapacityMeter.current().calls == {"Query": 1}  # type: ignore[union-attr]


class TestRoster:
    def test_owner_and_admin_read_the_roster_oldest_first(self, api: Api, courses: dict[str, str]) -> None:
        for n in range(3):
            assert api.enroll(courses["published"], student(n)).status == 201
        for claims in (OWNER_CLAIMS, ADMIN_CLAIMS):
            result = api.roster(courses["published"], claims)
            assert result.status == 200
            users = [e["user_id"] for e in result.body["items"]]
            assert users == ["student-0000", "student-0001", "student-0002"]
            stamps = [e["enrolled_at"] for e in result.body["items"]]
            assert stamps == sorted(stamps)

    def test_others_may_not(self, api: Api, courses: dict[str, str]) -> None:
        api.enroll(courses["published"], student())
        assert api.roster(courses["published"], OTHER_CLAIMS).problem["status"] == 403
        assert api.roster(courses["published"], student()).problem["status"] == 403
        assert api.roster(courses["published"], {}).problem["status"] == 401
        assert api.roster(courses["draft"], OTHER_CLAIMS).problem["status"] == 404
        assert api.roster(courses["draft"], OWNER_CLAIMS).body["items"] == []
        assert api.roster("nope", OWNER_CLAIMS).problem["status"] == 404
        assert api.roster("bad id", OWNER_CLAIMS).problem["status"] == 400

    def test_roster_pages_follow_the_cursor(self, api: Api, courses: dict[str, str]) -> None:
        for n in range(5):
            api.enroll(courses["published"], student(n))
        first = api.roster(courses["published"], OWNER_CLAIMS, limit="2").body
        assert len(first["items"]) == 2
        second = api.roster(courses["published"], OWNER_CLAIMS, limit="10", cursor=first["next_cursor"]).body
        assert len(second["items"]) == 3
        # a roster cursor does not work on another course's roster
        cursor = first["next_cursor"]
        assert api.roster(courses["draft"], OWNER_CLAIMS, cursor=cursor).problem["status"] == 400


    def test_a_narrow_course_page_is_one_query_and_a_wide_one_reads_its_partitions_in_parallel(
        self, api: Api, courses: dict[str, str], dynamodb: DynamoDBClient, tables: dict[str, str],
    ) -> None:
        queries: list[str] = []
        api.roster_fn.container.dynamodb.meta.events.register(
            "provide-client-params.dynamodb.Query",
            lambda params, **_: queries.append(params["ExpressionAttributeValues"][":partition"]["S"]))
        # Given a course of 40 students: narrow, every row in one partition
        for n in range(40):
            assert api.enroll(courses["published"], student(n)).status == 201
        page = api.roster(courses["published"], OWNER_CLAIMS, limit="50").body
        assert len(page["items"]) == 40
        assert queries == [roster_partition(courses["published"], 0)], "one Query"
        # When a course's count passes WIDE_AT (a launch), its new rows spread over the partitions
        batch_write(dynamodb, tables["COURSES_TABLE"], [course_item("wide0001", enrollment_count=WIDE_AT)])
        for n in range(40):
            assert api.enroll("wide0001", student(n)).status == 201
        used = {row["course_shard"] for n in range(40) for row in enrollment_rows(dynamodb, tables, f"student-{n:04d}")
                if row["course_id"] == "wide0001"}
        assert len(used) > 10
        # Then its roster reads every partition (in parallel) and one cursor walks them all, each student once
        queries.clear()
        listed: list[str] = []
        cursor: dict[str, str] = {}
        while True:
            body = api.roster("wide0001", OWNER_CLAIMS, limit="15", **cursor).body
            listed += [e["user_id"] for e in body["items"]]
            if not body["next_cursor"]:
                break
            cursor = {"cursor": body["next_cursor"]}
        assert sorted(listed) == [f"student-{n:04d}" for n in range(40)]
        assert set(queries) == {roster_partition("wide0001", shard) for shard in range(ROSTER_SHARDS)}


class TestCountThroughTheStream:
    def test_an_enrollment_reaches_the_cached_count_when_its_window_closes(
        self, courses: dict[str, str], with_redis: redis.Redis, function: Callable[[str], ModuleType],
        moto_endpoint: MotoEndpoint, dynamodb: DynamoDBClient, tables: dict[str, str],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("NEAR_CACHE_TTL_S", "0")
        api = Api(function)
        stream = function("stream_invalidator")
        reader = StreamReader(moto_endpoint.url, dynamodb, tables["COURSES_TABLE"])
        counts = Counts(moto_endpoint.url, dynamodb, tables["ENROLLMENTS_TABLE"], tables["COURSES_TABLE"])
        settle(stream, reader)  # the fixture's own rows
        course_id = courses["published"]
        assert api.get(course_id).body["enrollment_count"] == 0
        assert api.get(course_id).headers["X-Cache"] == "HIT"
        assert api.enroll(course_id, student()).status == 201
        # the enrollment wrote its own row, not the course row: a launch does not empty the cache
        assert api.get(course_id).headers["X-Cache"] == "HIT"
        # the window closes: one write adds it to the row; that row change drops the entry
        assert counts.close_window() == 1
        settle(stream, reader)
        row = dynamodb.get_item(TableName=tables["COURSES_TABLE"], Key={"course_id": {"S": course_id}},
                                ConsistentRead=True)["Item"]
        assert row["enrollment_count"] == {"N": "1"}
        read = api.get(course_id)
        assert (read.headers["X-Cache"], read.body["enrollment_count"]) == ("MISS", 1)
        # list pages take the count from the course's entry
        page = call(function("list_courses"), load_event("list_courses")).body
        assert [c["enrollment_count"] for c in page["items"] if c["course_id"] == course_id] == [1]
        # a repeat writes nothing: no record, no count, and the entry stays
        assert api.enroll(course_id, student()).status == 200
        assert counts.close_window() == 0
        settle(stream, reader)
        again = api.get(course_id)
        assert (again.headers["X-Cache"], again.body["enrollment_count"]) == ("HIT", 1)
