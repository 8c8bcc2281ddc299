"""Enrollment keys and marks; HTTP helpers of the write routes (no network)."""

from __future__ import annotations

import base64
import json
from collections import Counter
from typing import Any

import pytest

from courses_api.data.enrollment_counts import is_course_key, mark_key, padded
from courses_api.data.enrollments import ROSTER_SHARDS, WIDE_AT, enrollment_row, roster_width, shard_of
from courses_api.domain.auth import Caller
from courses_api.errors import BadRequest, PreconditionRequired
from courses_api.http.body import MAX_BODY_BYTES, body_bytes
from courses_api.http.writes import limit_body, required_version
from tests.support.functions import new_context


def test_the_roster_partition_is_stable_and_spreads_users() -> None:
    # the same user always lands on the same partition (a retry repeats the same write) ...
    assert shard_of("student-0001") == shard_of("student-0001")
    # ... and many users cover every partition about evenly
    counts = Counter(shard_of(f"user-{n}") for n in range(32_000))
    assert set(counts) == set(range(ROSTER_SHARDS))
    assert max(counts.values()) < 1.2 * 32_000 / ROSTER_SHARDS


def test_an_enrollment_row_carries_its_roster_partition() -> None:
    # a narrow course's rows share one partition; a wide course's spread by user
    assert enrollment_row("u1", "c1", "2026-01-01T00:00:00Z") == {
        "user_id": "u1", "course_id": "c1", "enrolled_at": "2026-01-01T00:00:00Z", "course_shard": "c1#00"}
    wide = enrollment_row("u1", "c1", "2026-01-01T00:00:00Z", roster_width(WIDE_AT))
    assert wide["course_shard"] == f"c1#{shard_of('u1'):02d}"
    # a course with 40 students is narrow
    assert (roster_width(40), roster_width(WIDE_AT - 1), roster_width(WIDE_AT)) == (1, 1, ROSTER_SHARDS)


def test_marks_are_never_course_keys_and_sequence_numbers_compare_as_strings() -> None:
    assert mark_key("c1", "shardId-1") != mark_key("c1", "shardId-2")
    assert not is_course_key(mark_key("c1", "shardId-1"))
    assert is_course_key("c1")
    # stream sequence numbers have 21 to 40 digits: padded, string order is number order
    assert padded(99_999_999_999_999_999_999) < padded(100_000_000_000_000_000_000)


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
