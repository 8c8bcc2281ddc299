"""Which Courses stream records carry a count to copy onto a course row (no network)."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from courses_api.domain.stream_invalidation import latest_shard_counts, shard_count_of


def record(key: str, count: str | None = "3", sequence: str = "1") -> DynamoDBRecord:
    new_image: dict[str, Any] = {"course_id": {"S": key}}
    if count is not None:
        new_image["enrollment_count"] = {"N": count}
    return DynamoDBRecord({"eventName": "MODIFY", "dynamodb": {
        "Keys": {"course_id": {"S": key}}, "NewImage": new_image, "SequenceNumber": sequence}})


def test_a_count_shard_record_names_its_course_shard_and_count() -> None:
    assert shard_count_of(record("c1#enrollments#07", "12")) == ("c1", 7, 12)


@pytest.mark.parametrize(
    ("key", "count"),
    [
        ("c1", "3"),  # a course row
        ("c1#enrollments#07", None),  # no count yet
        ("#enrollments#07", "3"),  # no course
        ("c1#enrollments#99", "3"),  # a shard the enroll path never writes
        ("c1#enrollments#x", "3"),
    ],
)
def test_other_records_carry_no_count(key: str, count: str | None) -> None:
    assert shard_count_of(record(key, count)) is None


def test_the_last_record_of_each_shard_in_a_batch_wins() -> None:
    batch = [record("c1#enrollments#01", "1", "1"), record("c2#enrollments#05", "4", "2"),
             record("c1#enrollments#01", "2", "3"), record("c1#enrollments#02", "1", "4")]
    assert latest_shard_counts(batch) == {"c1": {1: 2, 2: 1}, "c2": {5: 4}}
