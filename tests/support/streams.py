"""Deliver a table's stream to a stream function in-process, the way Lambda does.

Enrollment counts reach course rows through the Enrollments stream: the enrollment counter
sums each stream shard's records over a tumbling window and writes each course once when
the window closes. :func:`close_window` delivers the Enrollments records written since the
last call as one window per shard (a batch with the window's state, then the final
invocation), as Lambda does; :func:`settle` delivers the Courses records to the stream
invalidator (a count written is a row change: it drops the course's cache entry).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3

from local.streams import lambda_record, window_event
from tests.support.functions import invoke, load_function
from tests.support.services import FAKE_CREDENTIALS, LOCAL_REGION

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


class StreamReader:
    """Reads one table's stream from where the previous read stopped (every shard, in order)."""

    def __init__(self, endpoint_url: str, dynamodb: DynamoDBClient, table: str) -> None:
        self._streams: Any = boto3.client(
            "dynamodbstreams", endpoint_url=endpoint_url, region_name=LOCAL_REGION,
            aws_access_key_id=FAKE_CREDENTIALS["aws_access_key_id"],
            aws_secret_access_key=FAKE_CREDENTIALS["aws_secret_access_key"],
        )
        self.arn = str(dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"])
        self._after: dict[str, str] = {}  # shard id -> last sequence number delivered

    def new_records_by_shard(self) -> dict[str, list[dict[str, Any]]]:
        """The records written since the previous call, per stream shard, shaped as Lambda delivers them."""
        records: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for shard in self._streams.describe_stream(StreamArn=self.arn)["StreamDescription"]["Shards"]:
            shard_id = shard["ShardId"]
            position: dict[str, str] = (
                {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": self._after[shard_id]}
                if shard_id in self._after else {"ShardIteratorType": "TRIM_HORIZON"}
            )
            iterator = self._streams.get_shard_iterator(StreamArn=self.arn, ShardId=shard_id, **position)[
                "ShardIterator"]
            while iterator:
                response = self._streams.get_records(ShardIterator=iterator, Limit=1000)
                for record in response["Records"]:
                    records[shard_id].append(lambda_record(record, self.arn))
                    self._after[shard_id] = str(record["dynamodb"]["SequenceNumber"])
                if not response["Records"]:
                    break
                iterator = response.get("NextShardIterator")
        return dict(records)

    def new_records(self) -> list[dict[str, Any]]:
        """The records written since the previous call, every shard's in order."""
        return [record for records in self.new_records_by_shard().values() for record in records]


def settle(function: ModuleType, reader: StreamReader, *, rounds: int = 5) -> int:
    """Deliver new records until none is left; the number delivered. Fails on a failed record."""
    delivered = 0
    for _ in range(rounds):
        records = reader.new_records()
        if not records:
            return delivered
        response = invoke(function, {"Records": records})
        assert not (response or {}).get("batchItemFailures"), response
        delivered += len(records)
    raise AssertionError(f"the stream did not settle in {rounds} rounds")


def run_window(
    function: ModuleType, shard_id: str, stream_arn: str, batches: list[list[dict[str, Any]]]
) -> dict[str, Any]:
    """One tumbling window of one shard: each batch with the state so far, then the final invocation."""
    start = datetime.now(UTC)
    state: dict[str, Any] = {}
    for final, batch in [*((False, batch) for batch in batches), (True, [])]:
        event = window_event(batch, state=state, shard_id=shard_id, stream_arn=stream_arn, start=start,
                             window_s=60, final=final)
        response = invoke(function, event)
        assert isinstance(response, dict), response
        assert "state" in response, response
        state = response["state"]
    return state


def close_window(function: ModuleType, reader: StreamReader, *, batch_size: int = 1000) -> int:
    """Deliver the records written since the last call as one window per shard; how many were delivered."""
    delivered = 0
    for shard_id, records in reader.new_records_by_shard().items():
        batches = [records[i:i + batch_size] for i in range(0, len(records), batch_size)]
        run_window(function, shard_id, reader.arn, batches)
        delivered += len(records)
    return delivered


class Counts:
    """The enrollment counter over one Enrollments table, in-process: ``count_of`` closes a window first."""

    def __init__(self, endpoint_url: str, dynamodb: DynamoDBClient, enrollments: str, courses: str) -> None:
        self._dynamodb = dynamodb
        self._courses = courses
        self.reader = StreamReader(endpoint_url, dynamodb, enrollments)
        self.function = load_function("enrollment_counter")

    def close_window(self) -> int:
        """Count what was enrolled since the last window."""
        return close_window(self.function, self.reader)

    def count_of(self, course_id: str) -> int:
        """The course's count as stored after the counter saw every enrollment so far (0 if it has none)."""
        self.close_window()
        item = self._dynamodb.get_item(
            TableName=self._courses, Key={"course_id": {"S": course_id}}, ConsistentRead=True
        ).get("Item") or {}
        return int(item.get("enrollment_count", {}).get("N", "0"))
