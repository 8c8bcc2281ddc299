"""What a response tells whom: /health details only for admins; signed-in answers stay private."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from courses_api.data.dynamo import to_attributes
from tests.support.data import course_item
from tests.support.events import claims_for, load_event
from tests.support.functions import call

OWNER = "instructor-0001"
ADMIN = claims_for("admin-1", "admins")
STUDENT = claims_for("student-1")
ANONYMOUS: dict[str, Any] = {}


@pytest.fixture
def health(
    tables: dict[str, str], function: Callable[[str], ModuleType], monkeypatch: pytest.MonkeyPatch
) -> ModuleType:
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # a cache outage: the internals are worth hiding
    return function("health")


@pytest.mark.parametrize("claims", [ANONYMOUS, STUDENT], ids=["anonymous", "signed-in"])
def test_health_tells_others_only_ok_or_degraded(health: ModuleType, claims: dict[str, Any]) -> None:
    result = call(health, load_event("health", claims=claims))
    assert result.status == 200
    assert result.body == {"status": "degraded"}


def test_health_details_are_for_admins(health: ModuleType) -> None:
    result = call(health, load_event("health", claims=ADMIN))
    assert result.body["status"] == "degraded"
    assert result.body["dependencies"]["dynamodb"]["status"] == "ok"
    assert result.body["dependencies"]["cache"]["status"] != "ok"
    assert result.headers["Cache-Control"] == "private, no-store"


def test_health_details_are_logged(health: ModuleType, caplog: pytest.LogCaptureFixture) -> None:
    call(health, load_event("health", claims=ANONYMOUS))
    logged = [record for record in caplog.records if record.getMessage() == "health"]
    assert logged
    assert vars(logged[0])["health"]["dependencies"]["cache"]["status"] != "ok"


@pytest.fixture
def get_course(tables: dict[str, str], dynamodb: Any, without_redis: None,
               function: Callable[[str], ModuleType]) -> ModuleType:
    for row in (course_item("pub0001", instructor_id=OWNER), course_item("dra0001", instructor_id=OWNER,
                                                                         status="draft", published_at=None)):
        dynamodb.put_item(TableName=tables["COURSES_TABLE"], Item=to_attributes(row))
    return function("get_course")


@pytest.mark.parametrize("course_id", ["pub0001", "dra0001"])
def test_answers_to_a_signed_in_caller_are_private_and_vary_on_authorization(
    get_course: ModuleType, course_id: str
) -> None:
    owner = claims_for(OWNER, "instructors")
    result = call(get_course, load_event("get_course", path_parameters={"course_id": course_id}, claims=owner))
    assert result.status == 200
    assert "private" in result.headers["Cache-Control"].split(", ")
    assert "Authorization" in result.headers["Vary"]


def test_anonymous_answers_vary_on_authorization_but_stay_shareable(get_course: ModuleType) -> None:
    result = call(get_course, load_event("get_course", path_parameters={"course_id": "pub0001"}, claims=ANONYMOUS))
    assert result.status == 200
    assert result.headers["Vary"] == "Authorization"
    assert "Cache-Control" not in result.headers
    missing = call(get_course, load_event("get_course", path_parameters={"course_id": "dra0001"}, claims=ANONYMOUS))
    assert missing.status == 404
    assert missing.headers["Vary"] == "Authorization"


def test_private_answers_keep_their_own_directives(tables: dict[str, str], without_redis: None,
                                                   function: Callable[[str], ModuleType]) -> None:
    result = call(function("list_my_enrollments"), load_event("list_my_enrollments", claims=claims_for("student-1")))
    assert result.status == 200
    assert result.headers["Cache-Control"] == "private, no-store"
    assert result.headers["Vary"] == "Authorization"
