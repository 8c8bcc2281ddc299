"""The read routes through their real handlers and events, against moto over HTTP."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from courses_api.data.dynamo import batch_write
from tests.support.data import course_item
from tests.support.events import claims_for, load_event
from tests.support.functions import call

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

OWNER = "instructor-0001"


@pytest.fixture
def seeded(tables: dict[str, str], dynamodb: DynamoDBClient, without_redis: None) -> list[dict[str, Any]]:
    """30 published web courses (10 beginner), 5 data-science ones, 3 drafts of OWNER, 2 archived."""
    rows: list[dict[str, Any]] = []
    for i in range(30):
        rows.append(
            course_item(
                f"web{i:04d}",
                level="beginner" if i % 3 == 0 else "advanced",
                published_at=f"2026-11-01T10:{i:02d}:00.000000Z",
                created_at=f"2026-10-01T10:{i:02d}:00.000000Z",
            )
        )
    for i in range(5):
        rows.append(
            course_item(
                f"ds{i:04d}",
                category="data-science",
                instructor_id="instructor-0002",
                published_at=f"2026-11-02T10:{i:02d}:00.000000Z",
            )
        )
    for i in range(3):
        rows.append(course_item(f"draft{i:04d}", status="draft", created_at=f"2026-10-05T10:{i:02d}:00.000000Z"))
    for i in range(2):
        rows.append(course_item(f"arch{i:04d}", status="archived"))
    batch_write(dynamodb, tables["COURSES_TABLE"], rows)
    return rows


def follow_all(module: ModuleType, event_name: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a list, following next_cursor to the end."""
    items: list[dict[str, Any]] = []
    query = dict(kwargs.pop("query", {}))
    for _ in range(100):
        result = call(module, load_event(event_name, query=query, **kwargs))
        assert result.status == 200, result.body
        items.extend(result.body["items"])
        if result.body["next_cursor"] is None:
            return items
        query["cursor"] = result.body["next_cursor"]
    raise AssertionError("pagination did not end")


class TestListCourses:
    def test_catalogue_lists_only_published_newest_first(
        self, seeded: list[Any], function: Callable[[str], ModuleType]
    ) -> None:
        # Given the catalogue, When listed without a category
        items = follow_all(function("list_courses"), "list_courses", query={"limit": "7"})
        # Then every published course appears exactly once, newest first, and no draft or archived one
        ids = [i["course_id"] for i in items]
        assert len(ids) == len(set(ids)) == 35
        published_at = [i["published_at"] for i in items]
        assert published_at == sorted(published_at, reverse=True)
        assert all(i["status"] == "published" for i in items)
        assert "description" not in items[0]

    def test_category_and_level_filter_pages_visit_each_item_once(
        self, seeded: list[Any], function: Callable[[str], ModuleType]
    ) -> None:
        items = follow_all(
            function("list_courses"),
            "list_courses",
            query={"category": "web-development", "level": "beginner", "limit": "3"},
        )
        assert sorted(i["course_id"] for i in items) == sorted(f"web{i:04d}" for i in range(0, 30, 3))

    @pytest.mark.parametrize("level", ["beginner", "advanced"])
    def test_a_filtered_page_is_one_read_ahead_and_resumes_after_its_last_item(
        self, seeded: list[Any], function: Callable[[str], ModuleType], level: str
    ) -> None:
        # a third of the category is beginner, the rest advanced: reading 4x what a page needs
        # fills it in one request, and the next page starts right after its last item
        module = function("list_courses")
        queries: list[dict[str, Any]] = []
        module.container.dynamodb.meta.events.register(
            "provide-client-params.dynamodb.Query", lambda params, **_: queries.append(dict(params)))
        items = follow_all(module, "list_courses", query={"category": "web-development", "level": level, "limit": "4"})
        expected = [f"web{i:04d}" for i in reversed(range(30)) if (i % 3 == 0) == (level == "beginner")]
        assert [i["course_id"] for i in items] == expected, "newest first, each exactly once, none skipped"
        pages = -(-len(expected) // 4)
        assert len(queries) <= pages + 1, "about one request a page (the last may find the end empty)"
        assert queries[0]["Limit"] == 16

    def test_category_list_uses_by_category_index(
        self, seeded: list[Any], function: Callable[[str], ModuleType]
    ) -> None:
        module = function("list_courses")
        result = call(module, load_event("list_courses", query={"category": "data-science"}))
        assert {i["course_id"] for i in result.body["items"]} == {f"ds{i:04d}" for i in range(5)}
        # one Query of the index; the five counts with one BatchGetItem of their rows (the index has no count)
        assert module.container.meter.total.calls == {"Query": 1, "BatchGetItem": 1}
        assert result.headers["X-Cache"] == "BYPASS"

    @pytest.mark.parametrize(
        ("query", "status"),
        [
            ({"limit": "0"}, 400),
            ({"limit": "101"}, 400),
            ({"limit": "ten"}, 400),
            ({"level": "expert"}, 400),
            ({"category": "Not A Slug"}, 400),
            ({"cursor": "garbage"}, 400),
            ({"cursor": "eyJhIjoxfQ.AAAA"}, 400),
            ({"cursor": "x" * 3000}, 400),
        ],
    )
    def test_bad_parameters_get_problem_json(
        self, seeded: list[Any], function: Callable[[str], ModuleType], query: dict[str, str], status: int
    ) -> None:
        result = call(function("list_courses"), load_event("list_courses", query=query))
        assert result.status == status
        assert result.problem["status"] == status
        assert result.problem["title"]

    def test_cursor_of_one_list_is_refused_by_another(
        self, seeded: list[Any], function: Callable[[str], ModuleType]
    ) -> None:
        module = function("list_courses")
        first = call(module, load_event("list_courses", query={"limit": "2"}))
        cursor = first.body["next_cursor"]
        other = call(module, load_event("list_courses", query={"category": "web-development", "cursor": cursor}))
        assert other.status == 400

    def test_tampered_cursor_is_refused(self, seeded: list[Any], function: Callable[[str], ModuleType]) -> None:
        module = function("list_courses")
        cursor = call(module, load_event("list_courses", query={"limit": "2"})).body["next_cursor"]
        payload, signature = cursor.split(".")
        forged = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + signature
        assert call(module, load_event("list_courses", query={"cursor": forged})).status == 400


class TestGetCourse:
    def test_published_course_has_etag_and_conditional_get(
        self, seeded: list[Any], function: Callable[[str], ModuleType]
    ) -> None:
        module = function("get_course")
        result = call(module, load_event("get_course", path_parameters={"course_id": "web0001"}))
        assert result.status == 200
        assert result.body["course_id"] == "web0001"
        assert result.body["description"].startswith("A practical course.")
        assert result.body["price"] == 49.99
        assert result.headers["ETag"] == 'W/"1.0"'
        path = {"course_id": "web0001"}
        again = call(module, load_event("get_course", path_parameters=path, headers={"If-None-Match": 'W/"1.0"'}))
        assert again.status == 304
        assert again.body is None
        stale = call(
            module, load_event("get_course", path_parameters={"course_id": "web0001"}, headers={"If-None-Match": '"1"'})
        )
        assert stale.status == 200

    @pytest.mark.parametrize(
        ("claims", "visible"),
        [
            ({}, False),
            (claims_for("student-1"), False),
            (claims_for("instructor-0009", "instructors"), False),
            (claims_for(OWNER, "instructors"), True),
            (claims_for("admin-1", "admins"), True),
        ],
    )
    def test_drafts_only_for_owner_and_admins(
        self, seeded: list[Any], function: Callable[[str], ModuleType], claims: dict[str, Any], visible: bool
    ) -> None:
        # The claims travel as a bearer token the function verifies (the route has no authorizer).
        result = call(
            function("get_course"),
            load_event("get_course", path_parameters={"course_id": "draft0001"}, claims=claims),
        )
        assert result.status == (200 if visible else 404)

    @pytest.mark.parametrize("course_id", ["missing", "bad id!", "x" * 65, "%00"])
    def test_missing_or_malformed_ids_are_4xx(
        self, seeded: list[Any], function: Callable[[str], ModuleType], course_id: str
    ) -> None:
        result = call(function("get_course"), load_event("get_course", path_parameters={"course_id": course_id}))
        assert result.status in (400, 404)
        assert result.problem["status"] == result.status

    def test_bad_if_none_match_is_400(self, seeded: list[Any], function: Callable[[str], ModuleType]) -> None:
        result = call(
            function("get_course"),
            load_event("get_course", path_parameters={"course_id": "web0001"}, headers={"If-None-Match": "banana"}),
        )
        assert result.status == 400


class TestInstructorCourses:
    def test_public_sees_published_owner_sees_drafts(
        self, seeded: list[Any], function: Callable[[str], ModuleType]
    ) -> None:
        module = function("list_instructor_courses")
        public = follow_all(module, "list_instructor_courses", query={"limit": "8"})
        own = follow_all(
            module,
            "list_instructor_courses",
            query={"limit": "8"},
            claims=claims_for(OWNER, "instructors"),
        )
        assert len(public) == 30
        assert len(own) == 35
        created = [i["created_at"] for i in own]
        assert created == sorted(created, reverse=True)

    def test_owner_cursor_cannot_be_used_anonymously(
        self, seeded: list[Any], function: Callable[[str], ModuleType]
    ) -> None:
        module = function("list_instructor_courses")
        owner = claims_for(OWNER, "instructors")
        cursor = call(module, load_event("list_instructor_courses", query={"limit": "2"}, claims=owner)).body[
            "next_cursor"
        ]
        anonymous = call(module, load_event("list_instructor_courses", query={"cursor": cursor}))
        assert anonymous.status == 400


ADMIN_CLAIMS = claims_for("admin-1", "admins")


class TestHealth:
    def test_ok_without_cache_tier(self, seeded: list[Any], function: Callable[[str], ModuleType]) -> None:
        result = call(function("health"), load_event("health", claims=ADMIN_CLAIMS))
        assert result.status == 200
        assert result.body["status"] == "ok"
        assert result.body["dependencies"]["dynamodb"]["status"] == "ok"
        assert result.body["dependencies"]["cache"]["status"] == "disabled"

    def test_degraded_when_redis_unreachable(
        self, tables: dict[str, str], function: Callable[[str], ModuleType], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
        result = call(function("health"), load_event("health", claims=ADMIN_CLAIMS))
        assert result.status == 200
        assert result.body["status"] == "degraded"
        assert result.body["dependencies"]["cache"]["status"] != "ok"


def test_unknown_route_is_problem_json(tables: dict[str, str], function: Callable[[str], ModuleType]) -> None:
    event = load_event("health")
    event["path"] = event["resource"] = "/nope"
    result = call(function("health"), event)
    assert result.status == 404
    assert result.problem["status"] == 404
