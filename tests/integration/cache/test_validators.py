"""The course's validators: ``If-None-Match`` sees every change of what is shown, ``If-Match`` only edits.

Rules from RFC 9110 (https://www.rfc-editor.org/rfc/rfc9110, read 2026-12-03): §8.8.1, a
validator changes whenever the representation data changes; §13.1.2, ``If-None-Match`` uses
the weak comparison (opaque tags equal, either or both may be weak). The count shown
changes without a version bump (an enrollment is not an edit), so it is part of the tag.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

from tests.support.data import course_item
from tests.support.events import claims_for, load_event
from tests.support.functions import call

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import PutItemInputTypeDef

COURSE = "val0001"
OWNER = "instructor-0001"


@pytest.fixture
def put_row(tables: dict[str, str], dynamodb: DynamoDBClient, without_redis: None) -> Callable[[int], None]:
    """Store the course at version 1 with ``count`` enrollments (as the counting path writes it: no version bump)."""
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()

    def put(count: int) -> None:
        row = course_item(COURSE, instructor_id=OWNER, enrollment_count=count)
        request: PutItemInputTypeDef = {
            "TableName": tables["COURSES_TABLE"],
            "Item": {name: serializer.serialize(value) for name, value in row.items()},
        }
        dynamodb.put_item(**request)

    return put


def get(module: ModuleType, if_none_match: str | None = None) -> tuple[int, str, int | None]:
    headers = {"If-None-Match": if_none_match} if if_none_match else None
    result = call(module, load_event("get_course", path_parameters={"course_id": COURSE}, headers=headers))
    return result.status, result.headers["ETag"], (result.body or {}).get("enrollment_count")


def test_a_count_change_is_not_answered_304(
    put_row: Callable[[int], None], function: Callable[[str], ModuleType]
) -> None:
    module = function("get_course")
    put_row(0)
    status, first_tag, count = get(module)
    assert (status, count) == (200, 0)
    assert first_tag.startswith('W/"')  # weak: API Gateway may re-encode the bytes
    put_row(3)
    # When the client revalidates with the tag of the old count
    status, tag, count = get(module, first_tag)
    # Then it gets the new count, under a new tag that revalidates to 304
    assert (status, count) == (200, 3)
    assert tag != first_tag
    assert get(module, tag)[0] == 304
    assert get(module, tag.removeprefix("W/"))[0] == 304  # weak comparison: the W/ prefix does not matter


def test_if_match_guards_the_authored_fields_only(
    put_row: Callable[[int], None], function: Callable[[str], ModuleType]
) -> None:
    put_row(0)
    tag = get(function("get_course"))[1]
    put_row(5)  # students enrolled since the author read the course
    owner = claims_for(OWNER, "instructors")
    update = function("update_course")
    edit = load_event("update_course", path_parameters={"course_id": COURSE}, headers={"If-Match": tag},
                      claims=owner, body={"title": "Edited"})
    first = call(update, edit)
    assert first.status == 200
    assert first.headers["ETag"] == 'W/"2.5"'
    assert call(update, edit).status == 412  # the same tag after an edit is stale
