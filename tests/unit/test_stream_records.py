"""Which Enrollments stream records the counter counts, and how a window's sums fold (no network)."""

from __future__ import annotations

from typing import Any

import pytest

from courses_api.data.enrollment_counts import WindowSum
from courses_api.domain.enrollment_counting import counted, dump_state, fold, load_state


def record(event: str = "INSERT", course: str | None = "c1", user: str | None = "u1", sequence: str = "101",
           created: int = 1_800_000_000) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    if course is not None:
        keys["course_id"] = {"S": course}
    if user is not None:
        keys["user_id"] = {"S": user}
    return {"eventName": event, "dynamodb": {"Keys": keys, "SequenceNumber": sequence,
                                             "ApproximateCreationDateTime": created}}


def test_an_insert_adds_one_and_a_remove_takes_one() -> None:
    assert counted(record("INSERT")) == ("c1", 1, 101, 1_800_000_000)
    assert counted(record("REMOVE", sequence="102")) == ("c1", -1, 102, 1_800_000_000)


@pytest.mark.parametrize(
    "raw",
    [record("MODIFY"), record(course=None), record(user=None), record(sequence="abc"), {"eventName": "INSERT"}],
)
def test_other_records_count_nothing(raw: dict[str, Any]) -> None:
    assert counted(raw) is None


def test_a_window_sums_each_course_and_keeps_its_first_and_last_records() -> None:
    sums: dict[str, WindowSum] = {}
    fold(sums, [record(sequence="101"), record(course="c2", sequence="102"), record(sequence="103", created=5)])
    fold(sums, [record("REMOVE", sequence="104", created=6), record(sequence="103")])  # 103 again: skipped
    assert sums == {"c1": WindowSum(1, 101, 104, 1_800_000_000), "c2": WindowSum(1, 102, 102, 1_800_000_000)}


def test_the_state_survives_its_json_round_trip_with_40_digit_sequence_numbers() -> None:
    big = 10**39 + 7
    sums = {"c1": WindowSum(3, big, big + 5, 1_800_000_000)}
    assert load_state(dump_state(sums, {"c9"})) == (sums, {"c9"})
    assert load_state({}) == ({}, set())
    assert load_state(None) == ({}, set())
