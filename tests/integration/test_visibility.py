"""One visibility rule everywhere: an archived course is hidden from an enrolled student in every route.

Before, ``GET /courses/{id}`` said 404 while ``/me/enrollments`` kept showing the archived
course, later edits included. Now both follow ``Caller.may_see``: only the owner and admins
see a course that is not published; the student keeps the enrollment (id and date) with
``course: null``, as for a deleted course.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from courses_api.data.dynamo import to_attributes
from tests.support.data import course_item
from tests.support.events import claims_for, load_event
from tests.support.functions import HttpResult, call

OWNER = "instructor-0001"
OWNER_CLAIMS = claims_for(OWNER, "instructors")
ADMIN_CLAIMS = claims_for("admin-0001", "admins")
STUDENT_CLAIMS = claims_for("student-0001")


@pytest.fixture(params=["without_redis", "with_redis"])
def functions(request: pytest.FixtureRequest, tables: dict[str, str], dynamodb: Any,
              function: Callable[[str], ModuleType], monkeypatch: pytest.MonkeyPatch) -> dict[str, ModuleType]:
    request.getfixturevalue(request.param)
    # Each function is its own container: without this, the student's near cache may serve
    # the published row for its (documented) TTL after the archive; visibility is the point here.
    monkeypatch.setenv("NEAR_CACHE_TTL_S", "0")
    row = to_attributes(course_item("vis0001", instructor_id=OWNER))
    dynamodb.put_item(TableName=tables["COURSES_TABLE"], Item=row)
    return {name: function(name) for name in ("enroll", "list_my_enrollments", "get_course", "update_course")}


def mine(functions: dict[str, ModuleType], claims: dict[str, Any]) -> HttpResult:
    return call(functions["list_my_enrollments"], load_event("list_my_enrollments", claims=claims))


def get(functions: dict[str, ModuleType], claims: dict[str, Any]) -> HttpResult:
    return call(functions["get_course"], load_event("get_course", path_parameters={"course_id": "vis0001"},
                                                    claims=claims))


def test_an_archived_course_is_hidden_from_its_student_everywhere(functions: dict[str, ModuleType]) -> None:
    # Given a student enrolled in a published course
    enrolled = call(functions["enroll"], load_event("enroll", path_parameters={"course_id": "vis0001"},
                                                    claims=STUDENT_CLAIMS))
    assert enrolled.status == 201
    assert mine(functions, STUDENT_CLAIMS).body["items"][0]["course"]["course_id"] == "vis0001"
    # When the owner archives it and then edits it
    for patch, version in (({"status": "archived"}, '"1"'), ({"title": "Edited after archiving"}, '"2"')):
        event = load_event("update_course", path_parameters={"course_id": "vis0001"}, claims=OWNER_CLAIMS,
                           headers={"If-Match": version}, body=patch)
        assert call(functions["update_course"], event).status == 200
    # Then the student sees neither the course nor its edits, on any route
    assert get(functions, STUDENT_CLAIMS).status == 404
    items = mine(functions, STUDENT_CLAIMS).body["items"]
    assert [(item["course_id"], item["course"]) for item in items] == [("vis0001", None)]
    # while the owner and admins still see it
    assert get(functions, OWNER_CLAIMS).body["title"] == "Edited after archiving"
    assert get(functions, ADMIN_CLAIMS).status == 200
