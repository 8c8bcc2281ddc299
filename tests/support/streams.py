"""Deliver a table's stream to the stream invalidator in-process, the way Lambda does.

Enrollment counts reach course rows through the Courses stream (count shard records are
copied onto the row's tally; that row change then invalidates the course's cache entry).
Tests that read a count after enrolling run :func:`settle`: it reads the records written
since the last call, in order, invokes the ``stream_invalidator`` function with them as one
event, and repeats until no new record appears (the tally copy writes a record of its own).
"""

from __future__ import annotations

from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3

from local.streams import lambda_record
from tests.support.functions import invoke
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

    def new_records(self) -> list[dict[str, Any]]:
        """The records written since the previous call, shaped as Lambda delivers them."""
        records: list[dict[str, Any]] = []
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
                    records.append(lambda_record(record, self.arn))
                    self._after[shard_id] = str(record["dynamodb"]["SequenceNumber"])
                if not response["Records"]:
                    break
                iterator = response.get("NextShardIterator")
        return records


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
