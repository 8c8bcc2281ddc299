"""Reading transaction cancellation reasons; HTTP helpers of the write routes (no network)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from courses_api.data.enrollments import read_cancellation
from courses_api.domain.auth import Caller
from courses_api.errors import BadRequest, PreconditionRequired
from courses_api.http.body import MAX_BODY_BYTES, body_bytes
from courses_api.http.writes import limit_body, required_version
from tests.support.functions import new_context

ENROLLMENT = {"user_id": {"S": "u1"}, "course_id": {"S": "c1"}, "enrolled_at": {"S": "2026-01-01T00:00:00Z"}}
COURSE = {"course_id": {"S": "c1"}, "title": {"S": "T"}, "category": {"S": "web"}, "level": {"S": "beginner"},
          "instructor_id": {"S": "i1"}, "price": {"N": "1"}, "status": {"S": "draft"}, "created_at": {"S": "x"},
          "updated_at": {"S": "x"}, "version": {"N": "1"}}


def cancelled(*reasons: dict[str, Any]) -> ClientError:
    # Any: botocore-stubs types a reason's Item as {key, value}, not DynamoDB's attribute map.
    response: Any = {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                     "CancellationReasons": list(reasons)}
    return ClientError(response, "TransactWriteItems")


def test_already_enrolled() -> None:
    found = read_cancellation(cancelled({"Code": "ConditionalCheckFailed", "Item": ENROLLMENT}, {"Code": "None"}))
    assert found.already_enrolled is not None
    assert found.already_enrolled.course_id == "c1"
    assert not found.retryable


def test_course_missing_or_closed() -> None:
    missing = read_cancellation(cancelled({"Code": "None"}, {"Code": "ConditionalCheckFailed"}))
    assert (missing.course_refused, missing.course, missing.already_enrolled) == (True, None, None)
    closed = read_cancellation(cancelled({"Code": "None"}, {"Code": "ConditionalCheckFailed", "Item": COURSE}))
    assert closed.course is not None
    assert closed.course.status == "draft"


def test_conflicts_are_retryable() -> None:
    assert read_cancellation(cancelled({"Code": "TransactionConflict"}, {"Code": "None"})).retryable
    assert not read_cancellation(cancelled()).retryable


def test_one_visibility_rule_for_every_route() -> None:
    student = Caller("u1")
    assert student.may_see("published", "i1")
    assert not student.may_see("archived", "i1")
    assert not student.may_see("draft", "i1")
    assert Caller("i1").may_see("draft", "i1")
    assert Caller("i1").may_see("archived", "i1")
    assert Caller("root", frozenset({"admins"})).may_see("archived", "i1")


def test_body_size_counts_bytes_and_decoded_base64() -> None:
    assert body_bytes({"body": None}) == 0
    assert body_bytes({"body": "é"}) == 2
    encoded = base64.b64encode(b"x" * 300).decode()
    assert body_bytes({"body": encoded, "isBase64Encoded": True}) == 300


def test_limit_body_refuses_before_the_handler_runs() -> None:
    calls: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(event)
        return {"statusCode": 200}

    guarded = limit_body(handler)
    response = guarded({"body": "x" * (MAX_BODY_BYTES + 1)}, new_context("enroll"))  # type: ignore[arg-type]
    assert response["statusCode"] == 413
    assert response["headers"]["Content-Type"] == "application/problem+json"
    assert json.loads(response["body"])["status"] == 413
    assert calls == []
    assert guarded({"body": "x" * MAX_BODY_BYTES}, new_context("enroll"))["statusCode"] == 200  # type: ignore[arg-type]


def test_required_version() -> None:
    assert required_version('"3"') == 3
    assert required_version('W/"3"') == 3
    for missing in (None, "", "*"):
        with pytest.raises(PreconditionRequired):
            required_version(missing)
    with pytest.raises(BadRequest):
        required_version('"x"')
    for not_ascii in ("\u00b2", '"\u0663"', "W/\u00b9"):  # digits to str.isdigit(), not to int() or to us
        with pytest.raises(BadRequest):
            required_version(not_ascii)
