"""The HTTP contract of the spec, exercised from outside against the local server."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.conftest import LocalApi, drain_streams, local_status
from tests.support.services import LocalAuth

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.e2e
PROBLEM = "application/problem+json"
Create = Callable[..., dict[str, Any]]


def eventually(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Wait for ``condition``; the near cache of another function may serve an entry for up to its TTL."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    return body


def test_health_reports_every_dependency_to_admins_only(api: httpx.Client, local_api: LocalApi) -> None:
    public = api.get("/health")
    assert public.status_code == 200
    assert public.json() == {"status": "ok"}
    response = api.get("/health", headers=local_api.auth("e2e-operator", "admins"))
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["dependencies"]["dynamodb"]["status"] == "ok"
    assert body["dependencies"]["cache"]["status"] == "ok"
    assert response.headers["cache-control"] == "private, no-store"


def test_catalogue_pages_visit_every_published_course_once(api: httpx.Client) -> None:
    seen: list[str] = []
    published_at: list[str] = []
    cursor: str | None = None
    for _ in range(50):
        params: dict[str, Any] = {"limit": 7, **({"cursor": cursor} if cursor else {})}
        response = api.get("/courses", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 7
        seen += [item["course_id"] for item in page["items"]]
        published_at += [item["published_at"] for item in page["items"]]
        assert all(item["status"] == "published" for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) > 10
    assert published_at == sorted(published_at, reverse=True)


def test_category_lists_only_hold_that_category(api: httpx.Client) -> None:
    response = api.get("/courses", params={"category": "data-science", "level": "beginner", "limit": 100})
    assert response.status_code == 200
    for item in response.json()["items"]:
        assert item["category"] == "data-science"
        assert item["level"] == "beginner"


def test_get_course_has_etag_and_answers_conditional_gets(api: httpx.Client, new_course: Create) -> None:
    course = new_course()
    first = api.get(f"/courses/{course['course_id']}")
    assert first.status_code == 200
    etag = first.headers["etag"]
    assert etag == f'W/"{course["version"]}.{course["enrollment_count"]}"'
    again = api.get(f"/courses/{course['course_id']}", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""


def test_reads_miss_then_hit_the_cache(api: httpx.Client, new_course: Create) -> None:
    course = new_course()
    first = api.get(f"/courses/{course['course_id']}")
    second = api.get(f"/courses/{course['course_id']}")
    assert first.headers["x-cache"] == "MISS"
    assert second.headers["x-cache"] == "HIT"
    assert second.json() == first.json()


def test_writes_need_a_valid_token(api: httpx.Client, local_api: LocalApi) -> None:
    body = {"title": "x", "category": "devops", "level": "beginner", "price": 1}
    assert_problem(api.post("/courses", json=body), 401)
    assert_problem(api.post("/courses", json=body, headers={"Authorization": "Bearer not.a.jwt"}), 401)
    expired = local_api.token("e2e-instructor", "instructors", ttl_s=-10)
    assert_problem(api.post("/courses", json=body, headers={"Authorization": f"Bearer {expired}"}), 401)
    forged = LocalApi(local_api.url, local_api.dynamodb_endpoint, LocalAuth.generate())
    assert_problem(api.post("/courses", json=body, headers=forged.auth("e2e-instructor", "instructors")), 401)


def test_writes_need_the_role(api: httpx.Client, local_api: LocalApi) -> None:
    body = {"title": "x", "category": "devops", "level": "beginner", "price": 1}
    assert_problem(api.post("/courses", json=body, headers=local_api.auth("e2e-student")), 403)


def test_create_patch_delete_with_optimistic_locking(api: httpx.Client, local_api: LocalApi) -> None:
    owner = local_api.auth("e2e-author", "instructors")
    created = api.post("/courses", json={"title": "Locking", "category": "devops", "level": "advanced",
                                         "price": 49.5, "tags": ["dynamodb"]}, headers=owner)
    assert created.status_code == 201, created.text
    course = created.json()
    course_id = course["course_id"]
    assert created.headers["location"].endswith(f"/courses/{course_id}")
    assert created.headers["etag"] == 'W/"1.0"'
    assert course["instructor_id"] == "e2e-author"
    assert course["status"] == "draft"

    path = f"/courses/{course_id}"
    assert_problem(api.patch(path, json={"title": "No precondition"}, headers=owner), 428)
    assert_problem(api.patch(path, json={"title": "Stale"}, headers={**owner, "If-Match": '"7"'}), 412)
    other = local_api.auth("e2e-someone-else", "instructors")
    assert_problem(api.patch(path, json={"title": "Not mine"}, headers={**other, "If-Match": '"1"'}), 404)  # a draft

    published = api.patch(path, json={"status": "published"}, headers={**owner, "If-Match": '"1"'})
    assert published.status_code == 200, published.text
    assert published.headers["etag"] == 'W/"2.0"'
    assert published.json()["published_at"]
    assert api.get(path).json()["title"] == "Locking"
    assert_problem(api.patch(path, json={"title": "Not mine"}, headers={**other, "If-Match": '"2"'}), 403)
    assert_problem(api.delete(path, headers={**other, "If-Match": '"2"'}), 403)

    deleted = api.delete(path, headers={**owner, "If-Match": '"2"'})
    assert deleted.status_code == 204
    assert_problem(api.get(path, headers=owner), 404)  # owners skip the near cache: read-your-writes
    eventually(lambda: api.get(path).status_code == 404)  # others: within the near cache's TTL


def test_drafts_are_hidden_from_everyone_but_owner_and_admins(
    api: httpx.Client, local_api: LocalApi, new_course: Create
) -> None:
    draft = new_course(owner="e2e-drafter", status="draft")
    path = f"/courses/{draft['course_id']}"
    assert_problem(api.get(path), 404)
    assert_problem(api.get(path, headers=local_api.auth("e2e-student")), 404)
    assert api.get(path, headers=local_api.auth("e2e-drafter", "instructors")).status_code == 200
    assert api.get(path, headers=local_api.auth("e2e-admin", "admins")).status_code == 200


def test_the_routes_without_an_authorizer_verify_tokens_in_the_function(
    api: httpx.Client, local_api: LocalApi, new_course: Create
) -> None:
    """The same tokens on both sides of the gateway: the Cognito authorizer's routes and the
    functions that verify tokens themselves answer a bad one alike (template GatewayResponses)."""
    draft = new_course(owner="e2e-lister", status="draft")
    listing = "/instructors/e2e-lister/courses"
    assert draft["course_id"] not in {item["course_id"] for item in api.get(listing).json()["items"]}
    owner = api.get(listing, headers=local_api.auth("e2e-lister", "instructors"))
    assert draft["course_id"] in {item["course_id"] for item in owner.json()["items"]}
    other_run = LocalApi(local_api.url, local_api.dynamodb_endpoint, LocalAuth.generate())
    expired = local_api.token("e2e-lister", "instructors", ttl_s=-10)
    bad = {"unknown key": other_run.auth("e2e-lister", "instructors"),
           "expired": {"Authorization": f"Bearer {expired}"}, "garbage": {"Authorization": "Bearer not.a.jwt"}}
    for path in (f"/courses/{draft['course_id']}", listing, "/health"):
        for kind, headers in bad.items():
            response = api.get(path, headers=headers)
            body = assert_problem(response, 401)
            assert response.headers["www-authenticate"] == "Bearer", (path, kind)
            assert body["type"] == "https://courses-api.example.com/problems/unauthorized", (path, kind)
            gateway = api.post("/courses", json={"title": "x"}, headers=headers)  # the Cognito authorizer's 401
            assert_problem(gateway, 401)
            assert gateway.headers["www-authenticate"] == "Bearer"


def test_enrollment_is_counted_once_and_listed(api: httpx.Client, local_api: LocalApi, new_course: Create) -> None:
    course = new_course(owner="e2e-teacher")
    course_id = course["course_id"]
    student = local_api.auth("e2e-learner")

    first = api.post(f"/courses/{course_id}/enrollments", headers=student)
    assert first.status_code == 201, first.text
    repeat = api.post(f"/courses/{course_id}/enrollments", headers=student)
    assert repeat.status_code in (200, 201), repeat.text

    # the count reaches the course row when the counter's window closes (then the row's own
    # record drops the cached course): once the streams have settled, it is exactly 1
    owner = local_api.auth("e2e-teacher", "instructors")
    status = drain_streams(api, local_api)
    assert api.get(f"/courses/{course_id}", headers=owner).json()["enrollment_count"] == 1, status

    mine = api.get("/me/enrollments", headers=student)
    assert mine.status_code == 200
    entries = [item for item in mine.json()["items"] if item["course_id"] == course_id]
    assert len(entries) == 1
    assert entries[0]["course"]["title"] == course["title"]

    roster = api.get(f"/courses/{course_id}/enrollments", headers=owner)
    assert roster.status_code == 200
    assert [entry["user_id"] for entry in roster.json()["items"]] == ["e2e-learner"]
    assert_problem(api.get(f"/courses/{course_id}/enrollments", headers=student), 403)
    assert_problem(api.get("/me/enrollments"), 401)


def test_instructor_pages_list_their_courses(api: httpx.Client, new_course: Create) -> None:
    course = new_course(owner="e2e-prolific")
    response = api.get("/instructors/e2e-prolific/courses")
    assert response.status_code == 200
    assert course["course_id"] in [item["course_id"] for item in response.json()["items"]]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("GET", "/courses/bad%20id!", {}, 400),
        ("GET", "/courses?limit=0", {}, 400),
        ("GET", "/courses?limit=101", {}, 400),
        ("GET", "/courses?limit=abc", {}, 400),
        ("GET", "/courses?cursor=tampered", {}, 400),
        ("GET", "/courses?category=Not%20A%20Slug", {}, 400),
        ("GET", "/nowhere", {}, 404),
        ("PUT", "/courses", {}, 405),
        ("POST", "/courses", {"content": b"{not json", "headers": {"Content-Type": "application/json"}}, 400),
        ("POST", "/courses", {"json": {"title": "x", "category": "devops", "level": "beginner", "price": 1,
                                       "surprise": True}}, 400),
        ("POST", "/courses", {"json": {"title": "x", "category": "devops", "level": "expert", "price": 1}}, 400),
        ("POST", "/courses", {"json": {"title": "x", "category": "devops", "level": "beginner", "price": -1}}, 422),
        ("POST", "/courses", {"content": b"x" * (10 * 1024 * 1024 + 1)}, 413),
    ],
)
def test_bad_input_gets_4xx_problem_json(
    api: httpx.Client, local_api: LocalApi, method: str, path: str, kwargs: dict[str, Any], status: int
) -> None:
    headers = {**local_api.auth("e2e-instructor", "instructors"), **kwargs.pop("headers", {})}
    assert_problem(api.request(method, path, headers=headers, **kwargs), status)


def test_cors_preflight_is_answered(api: httpx.Client) -> None:
    response = api.options("/courses", headers={"Origin": "http://localhost:3000",
                                                "Access-Control-Request-Method": "POST"})
    assert response.status_code == 200
    assert "POST" in response.headers["access-control-allow-methods"]


def test_stream_invalidator_catches_writes_made_behind_the_apis_back(
    api: httpx.Client, ddb: DynamoDBClient, new_course: Create, local_api: LocalApi
) -> None:
    # Given a course whose page is in the cache
    course = new_course()
    path = f"/courses/{course['course_id']}"
    api.get(path)
    assert api.get(path).headers["x-cache"] == "HIT"
    # When another service changes the row directly in DynamoDB
    ddb.update_item(
        TableName="Courses", Key={"course_id": {"S": course["course_id"]}},
        UpdateExpression="SET title = :t, version = version + :one",
        ExpressionAttributeValues={":t": {"S": "Changed elsewhere"}, ":one": {"N": "1"}},
    )
    # Then the stream invalidator evicts it and the API serves the new row within seconds
    deadline = time.monotonic() + 10
    while api.get(path).json()["title"] != "Changed elsewhere":
        if time.monotonic() > deadline:
            status = local_status(api, local_api)
            pytest.fail(f"no eviction; {status}")
        time.sleep(0.2)
