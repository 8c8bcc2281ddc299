"""Reading transaction cancellation reasons; HTTP helpers of the write routes (no network)."""

from __future__ import annotations

import base64
import json
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError

from courses_api.data.enrollment_shards import (
    COUNT_SHARDS,
    count_shard_key,
    course_of_count_shard,
    is_count_shard_key,
    shard_of,
)
from courses_api.data.enrollments import enrollment_transaction, read_cancellation
from courses_api.domain.auth import Caller
from courses_api.errors import BadRequest, PreconditionRequired
from courses_api.http.body import MAX_BODY_BYTES, body_bytes
from courses_api.http.writes import limit_body, required_version
from courses_api.models import Enrollment
from tests.support.functions import new_context

ENROLLMENT = {"user_id": {"S": "u1"}, "course_id": {"S": "c1"}, "enrolled_at": {"S": "2026-01-01T00:00:00Z"}}


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


def test_a_shard_conflict_is_retryable_but_not_a_repeat() -> None:
    conflict = read_cancellation(cancelled({"Code": "None"}, {"Code": "TransactionConflict"}))
    assert conflict.retryable
    assert conflict.already_enrolled is None


def test_the_shard_is_stable_and_spreads_users() -> None:
    # the same user always lands on the same shard (a retry repeats the same writes) ...
    assert shard_of("student-0001") == shard_of("student-0001")
    # ... and many users cover every shard about evenly
    counts = Counter(shard_of(f"user-{n}") for n in range(32_000))
    assert set(counts) == set(range(COUNT_SHARDS))
    assert max(counts.values()) < 1.2 * 32_000 / COUNT_SHARDS


def test_the_transaction_touches_the_row_and_one_count_shard_only() -> None:
    enrollment = Enrollment(user_id="u1", course_id="c1", enrolled_at="2026-01-01T00:00:00Z")
    put, update = enrollment_transaction(enrollment, enrollments_table="E", courses_table="C")
    shard = shard_of("u1")
    assert put["Put"]["Item"]["course_shard"] == {"S": f"c1#{shard:02d}"}
    assert put["Put"]["ConditionExpression"] == "attribute_not_exists(user_id)"
    # the count shard, never the course row "c1"; no condition on it, so only the row can refuse
    assert update["Update"]["Key"] == {"course_id": {"S": count_shard_key("c1", shard)}}
    assert "ConditionExpression" not in update["Update"]
    assert is_count_shard_key(count_shard_key("c1", shard))
    assert course_of_count_shard(count_shard_key("c1", shard)) == "c1"
    assert not is_count_shard_key("c1")

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
