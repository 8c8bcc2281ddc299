"""Stream records as Lambda's DynamoDB event source mapping delivers them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from local.streams import failed_from, lambda_record

ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/Courses/stream/2026-11-27T00:00:00.000"


def _raw(sequence: str, name: str = "MODIFY", **images: Any) -> dict[str, Any]:
    return {
        "eventID": "e" + sequence,
        "eventName": name,
        "eventVersion": "1.0",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": datetime(2026, 11, 27, 17, 49, 7, tzinfo=UTC),
            "Keys": {"course_id": {"S": "c1"}},
            "SequenceNumber": sequence,
            "SizeBytes": 42,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
            **images,
        },
    }


def test_records_have_the_lambda_event_shape() -> None:
    record = lambda_record(_raw("100", NewImage={"course_id": {"S": "c1"}, "blob": {"B": b"\x01"}},
                                OldImage={"course_id": {"S": "c1"}}), ARN)
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventSourceARN"] == ARN
    assert record["eventVersion"] == "1.1"
    stream = record["dynamodb"]
    assert stream["ApproximateCreationDateTime"] == int(datetime(2026, 11, 27, 17, 49, 7, tzinfo=UTC).timestamp())
    assert stream["NewImage"]["blob"] == {"B": "AQ=="}
    assert stream["OldImage"] == {"course_id": {"S": "c1"}}
    assert stream["SequenceNumber"] == "100"


def test_empty_images_are_left_out_as_dynamodb_does() -> None:
    insert = lambda_record(_raw("1", "INSERT", NewImage={"course_id": {"S": "c1"}}, OldImage={}), ARN)
    assert "OldImage" not in insert["dynamodb"]
    remove = lambda_record(_raw("2", "REMOVE", NewImage={}, OldImage={"course_id": {"S": "c1"}}), ARN)
    assert "NewImage" not in remove["dynamodb"]


def _batch(*sequences: str) -> list[dict[str, Any]]:
    return [lambda_record(_raw(sequence), ARN) for sequence in sequences]


def test_success_and_empty_failure_lists_consume_the_batch() -> None:
    batch = _batch("1", "2", "3")
    assert failed_from(None, batch) is None
    assert failed_from({"batchItemFailures": []}, batch) is None


def test_redelivery_starts_at_the_first_failed_record() -> None:
    batch = _batch("1", "2", "3")
    response = {"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": "2"}]}
    assert failed_from(response, batch) == 1


def test_unknown_or_missing_identifiers_fail_the_whole_batch() -> None:
    batch = _batch("1", "2")
    assert failed_from({"batchItemFailures": [{"itemIdentifier": "99"}]}, batch) == 0
    assert failed_from({"batchItemFailures": [{}]}, batch) == 0
    assert failed_from({"batchItemFailures": "oops"}, batch) == 0
