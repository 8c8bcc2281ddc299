"""Cursors signed with the right key but carrying a key of the wrong shape: 400 through the handlers.

Such a cursor can only come from someone holding CURSOR_SECRET (a leaked or default key);
it must still be a client error, never a 500 from serialising it or a 503 from DynamoDB.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import ModuleType

import pytest

from courses_api.data.cursors import CursorCodec, _b64
from tests.support.events import claims_for, load_event
from tests.support.functions import call


def forged(scope: str, payload: bytes) -> str:
    codec = CursorCodec(os.environ["CURSOR_SECRET"].encode())
    return f"{_b64(payload)}.{_b64(codec._signature(scope, payload))}"


@pytest.mark.parametrize(
    "payload",
    [b'{"course_id": 1.5}', b'{"course_id": {"S": "x"}}', b'{"course_id": ["x"]}', b"[]", b'{"a": true}'],
)
def test_signed_cursors_with_a_malformed_key_are_400(
    tables: dict[str, str], without_redis: None, function: Callable[[str], ModuleType], payload: bytes
) -> None:
    cursor = forged("published:*:*", payload)
    catalogue = call(function("list_courses"), load_event("list_courses", query={"cursor": cursor}))
    assert catalogue.status == 400, catalogue.body
    assert catalogue.problem["detail"].startswith("The cursor is invalid")
    mine = call(function("list_my_enrollments"),
                load_event("list_my_enrollments", claims=claims_for("student-1"),
                           query={"cursor": forged("me:student-1", payload)}))
    assert mine.status == 400, mine.body
