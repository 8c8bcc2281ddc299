"""Pure parts of authoring: new rows, patch semantics, UpdateItem expressions, refusals."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from courses_api.data.courses import patch_update_request
from courses_api.domain.auth import Caller
from courses_api.domain.course_writes import apply_patch, new_course, new_course_id, refusal
from courses_api.errors import Forbidden, NotFound, PreconditionFailed
from courses_api.models import Course, CourseCreate, CoursePatch

NOW = "2026-11-27T12:00:00.000000Z"
LATER = "2026-11-28T12:00:00.000000Z"
OWNER = Caller("i1", frozenset({"instructors"}))
OTHER = Caller("i2", frozenset({"instructors"}))
ADMIN = Caller("a1", frozenset({"admins"}))


def create(**overrides: Any) -> CourseCreate:
    body = {"title": "T", "category": "web", "level": "beginner", "price": "9.99", **overrides}
    return CourseCreate.model_validate(body)


def course(**overrides: Any) -> Course:
    return new_course(create(**overrides), course_id="c1", instructor_id="i1", now=NOW)


def test_ids_are_url_safe_and_unique() -> None:
    ids = {new_course_id() for _ in range(100)}
    assert len(ids) == 100
    assert all(re.fullmatch(r"[a-f0-9]{32}", i) for i in ids)


def test_new_draft_and_new_published() -> None:
    draft = course()
    assert (draft.version, draft.enrollment_count, draft.published_at) == (1, 0, None)
    assert draft.created_at == draft.updated_at == NOW
    assert course(status="published").published_at == NOW


def test_publish_sets_published_at_once() -> None:
    published = apply_patch(course(), {"status": "published"}, now=LATER)
    assert (published.published_at, published.version, published.updated_at) == (LATER, 2, LATER)
    again = apply_patch(published, {"status": "published"}, now="2026-12-01T00:00:00.000000Z")
    assert again.published_at == LATER


@pytest.mark.parametrize("status", ["draft", "archived"])
def test_leaving_published_clears_published_at(status: str) -> None:
    assert apply_patch(course(status="published"), {"status": status}, now=LATER).published_at is None


def test_patch_without_status_keeps_published_at() -> None:
    published = course(status="published")
    assert apply_patch(published, {"title": "U"}, now=LATER).published_at == NOW


def test_update_request_sets_fields_version_and_timestamps() -> None:
    changes = CoursePatch.model_validate({"title": "U", "price": "5.50", "status": "published"}).changes()
    request = patch_update_request(changes, expected_version=3, now=NOW, owner_id="i1")
    expression = request["UpdateExpression"]
    assert expression.startswith("SET #version = :next, #updated_at = :now")
    assert "#published_at = if_not_exists(#published_at, :now)" in expression
    assert "REMOVE" not in expression
    assert request["ConditionExpression"] == "#version = :expected AND #instructor_id = :owner"
    values = request["ExpressionAttributeValues"]
    assert values[":expected"] == {"N": "3"}
    assert values[":next"] == {"N": "4"}
    assert values[":owner"] == {"S": "i1"}
    assert {"N": "5.50"} in values.values()
    assert set(request["ExpressionAttributeNames"].values()) >= {"title", "price", "status", "published_at"}


def test_update_request_removes_published_at_when_unpublishing_and_admin_has_no_owner_condition() -> None:
    request = patch_update_request({"status": "draft"}, expected_version=1, now=NOW, owner_id=None)
    assert request["UpdateExpression"].endswith("REMOVE #published_at")
    assert request["ConditionExpression"] == "#version = :expected"


def test_update_request_refuses_server_fields() -> None:
    with pytest.raises(ValueError, match="not patchable"):
        patch_update_request({"version": 9}, expected_version=1, now=NOW, owner_id=None)


def test_refusals() -> None:
    published = course(status="published")
    draft = course()
    assert isinstance(refusal(OWNER, "c1", None, expected_version=1), NotFound)
    assert isinstance(refusal(OTHER, "c1", draft, expected_version=1), NotFound)
    assert isinstance(refusal(OTHER, "c1", published, expected_version=1), Forbidden)
    stale = refusal(ADMIN, "c1", apply_patch(published, {"title": "U"}, now=LATER), expected_version=1)
    assert isinstance(stale, PreconditionFailed)
    assert stale.current_version == 2


def test_price_keeps_two_decimals() -> None:
    assert course(price="10.10").price == Decimal("10.10")
