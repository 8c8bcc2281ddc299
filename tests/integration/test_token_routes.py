"""The routes without an authorizer, through their handlers: anonymous reads, verified tokens.

``GET /courses/{id}``, ``GET /instructors/{id}/courses`` and ``GET /health`` have no
authorizer in ``template.yaml`` (one Lambda invocation per anonymous request); their
functions verify a bearer token themselves. A bad token must get the answer API Gateway's own
401s give (``GatewayResponses`` UNAUTHORIZED and EXPIRED_TOKEN), and nothing but the verified
token may make a caller: API Gateway sets ``requestContext.authorizer`` only when an authorizer
ran, so on these routes one found in the event is forged and grants nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from courses_api.data.dynamo import to_attributes
from local.auth import LocalAuth
from local.template import load_template
from tests.support.data import course_item
from tests.support.events import load_event
from tests.support.functions import HttpResult, call
from tests.support.services import TEST_AUTH, mint_token

OWNER = "instructor-0001"
FORGED_ADMIN = [
    {"claims": {"sub": "mallory", "cognito:groups": "[admins]"}},  # the Cognito authorizer's shape
    {"principalId": "mallory", "sub": "mallory", "cognito:groups": '["admins"]'},  # a Lambda authorizer's
]


def _gateway_answer(response_type: str) -> dict[str, Any]:
    """The body and headers template.yaml gives API Gateway's own response of this type."""
    api = load_template()["Resources"]["CoursesApi"]["Properties"]
    response = api["GatewayResponses"][response_type]
    headers = {name: value.strip("'") for name, value in response["ResponseParameters"]["Headers"].items()
               if value.startswith("'")}
    return {"body": json.loads(response["ResponseTemplates"]["application/json"]), "headers": headers}


@pytest.fixture
def seeded(tables: dict[str, str], dynamodb: Any, without_redis: None) -> None:
    for row in (course_item("pub0001", instructor_id=OWNER),
                course_item("dra0001", instructor_id=OWNER, status="draft", published_at=None)):
        dynamodb.put_item(TableName=tables["COURSES_TABLE"], Item=to_attributes(row))


def _get(module: ModuleType, name: str, token: str | None = None, authorizer: Any = None, **parts: Any) -> HttpResult:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else None
    return call(module, load_event(name, headers=headers, authorizer=authorizer, **parts))


def _course(module: ModuleType, course_id: str, token: str | None = None, authorizer: Any = None) -> HttpResult:
    return _get(module, "get_course", token, authorizer, path_parameters={"course_id": course_id})


def _instructor(module: ModuleType, token: str | None = None, authorizer: Any = None) -> set[str]:
    result = _get(module, "list_instructor_courses", token, authorizer,
                  path_parameters={"instructor_id": OWNER}, query={"limit": "10"})
    assert result.status == 200, result.body
    return {item["course_id"] for item in result.body["items"]}


def test_anonymous_callers_read_published_courses_without_any_authorizer(
    seeded: None, function: Callable[[str], ModuleType]
) -> None:
    get_course = function("get_course")
    published = _course(get_course, "pub0001")
    assert published.status == 200
    assert published.body["course_id"] == "pub0001"
    assert "Cache-Control" not in published.headers  # shareable: no caller
    assert _course(get_course, "dra0001").status == 404
    assert _instructor(function("list_instructor_courses")) == {"pub0001"}
    assert _get(function("health"), "health").body == {"status": "ok"}


@pytest.mark.parametrize(("sub", "groups"), [(OWNER, ["instructors"]), ("admin-1", ["admins"])], ids=["owner", "admin"])
def test_owners_and_admins_see_drafts_with_a_token(
    seeded: None, function: Callable[[str], ModuleType], sub: str, groups: list[str]
) -> None:
    token = mint_token(sub, groups)
    draft = _course(function("get_course"), "dra0001", token)
    assert draft.status == 200
    assert draft.body["status"] == "draft"
    assert "private" in draft.headers["Cache-Control"]
    assert _instructor(function("list_instructor_courses"), token) == {"pub0001", "dra0001"}


def test_admins_get_health_details_with_a_token(seeded: None, function: Callable[[str], ModuleType]) -> None:
    health = function("health")
    details = _get(health, "health", mint_token("admin-1", ["admins"])).body
    assert details["dependencies"]["dynamodb"]["status"] == "ok"
    assert _get(health, "health", mint_token("student-1")).body == {"status": "ok"}


OTHER_POOL = LocalAuth.generate()
BAD_TOKENS: dict[str, Callable[[], str]] = {
    "bad-signature": lambda: LocalAuth(OTHER_POOL.private_key, TEST_AUTH.kid).mint(OWNER, ["admins"]),
    "unknown-kid": lambda: OTHER_POOL.mint(OWNER, ["admins"]),
    "wrong-audience": lambda: mint_token(OWNER, ["admins"], aud="another-app-client"),
    "wrong-issuer": lambda: mint_token(OWNER, ["admins"], iss="https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_x"),
    "access-token": lambda: mint_token(OWNER, ["admins"], token_use="access", aud=None, client_id=TEST_AUTH.audience),
    "not-a-jwt": lambda: "not.a.jwt",
}


@pytest.mark.parametrize("folder", ["get_course", "list_instructor_courses", "health"])
@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_a_bad_token_gets_the_gateways_401(
    seeded: None, function: Callable[[str], ModuleType], folder: str, kind: str
) -> None:
    parts: dict[str, Any] = {
        "get_course": {"path_parameters": {"course_id": "dra0001"}},
        "list_instructor_courses": {"path_parameters": {"instructor_id": OWNER}},
        "health": {},
    }[folder]
    result = _get(function(folder), folder, BAD_TOKENS[kind](), **parts)
    expected = _gateway_answer("UNAUTHORIZED")
    assert result.status == 401
    assert result.problem == expected["body"]
    assert result.headers["WWW-Authenticate"] == expected["headers"]["WWW-Authenticate"] == "Bearer"
    assert result.headers["Content-Type"] == expected["headers"]["Content-Type"]


def test_an_expired_token_gets_the_gateways_expired_answer(seeded: None, function: Callable[[str], ModuleType]) -> None:
    token = mint_token(OWNER, ["instructors"], ttl_s=60, now=time.time() - 3600)
    result = _course(function("get_course"), "pub0001", token)
    assert result.status == 401
    assert result.problem == _gateway_answer("EXPIRED_TOKEN")["body"]
    assert result.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("forged", FORGED_ADMIN, ids=["cognito-shape", "lambda-shape"])
def test_a_forged_authorizer_context_grants_nothing(
    seeded: None, function: Callable[[str], ModuleType], forged: dict[str, Any]
) -> None:
    assert _course(function("get_course"), "dra0001", authorizer=forged).status == 404
    assert _instructor(function("list_instructor_courses"), authorizer=forged) == {"pub0001"}
    assert _get(function("health"), "health", authorizer=forged).body == {"status": "ok"}
    # With a token, the token's caller counts, not the forged context.
    student = _course(function("get_course"), "dra0001", mint_token("student-1"), authorizer=forged)
    assert student.status == 404
