"""The conflict front (``tests/support/conflicts.py``) answers as DynamoDB documents, and the counter copes.

DynamoDB's conflict rules are quoted in the front's module (transaction-apis.html, read
2026-12-03). These tests check the front against them, then run the enrollment counter's
transactions through it: concurrent windows of several stream shards writing one course row.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from courses_api.data.dynamo import batch_write
from courses_api.data.enrollment_counts import Applied, CountWriter, WindowSum
from courses_api.errors import DependencyUnavailable
from tests.support.conflicts import ConflictFront
from tests.support.data import course_item
from tests.support.services import FAKE_CREDENTIALS, LOCAL_REGION, MotoEndpoint

# How often the test retries a window that ran out of attempts, as Lambda retries a failed stream batch
# (the mapping's MaximumRetryAttempts); on a loaded machine the threads' retries can all meet again.
LAMBDA_BATCH_RETRIES = 20

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@pytest.fixture
def front(moto_endpoint: MotoEndpoint, tables: dict[str, str]) -> Iterator[ConflictFront]:
    started = ConflictFront(moto_endpoint.url, hold_s=30.0).start()
    yield started
    started.stop()


def client_of(url: str) -> Any:
    """A client of the front; Any: the tests send hand-built actions."""
    client: Any = boto3.client(
        "dynamodb", endpoint_url=url, region_name=LOCAL_REGION,
        config=Config(retries={"mode": "standard", "max_attempts": 1}),
        aws_access_key_id=FAKE_CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=FAKE_CREDENTIALS["aws_secret_access_key"],
    )
    return client


def add_one(table: str, key: str) -> dict[str, Any]:
    return {"Update": {"TableName": table, "Key": {"course_id": {"S": key}},
                       "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}}


def test_a_transaction_on_a_held_item_is_cancelled_with_a_transaction_conflict(
    front: ConflictFront, tables: dict[str, str],
) -> None:
    client, table = client_of(front.url), tables["COURSES_TABLE"]
    client.transact_write_items(TransactItems=[add_one(table, "a")])
    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(TransactItems=[add_one(table, "b"), add_one(table, "a")])
    error: Any = cancelled.value.response
    assert error["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in error["CancellationReasons"]] == ["None", "TransactionConflict"]
    # an item-level write of a held item is rejected; other items are not held
    with pytest.raises(ClientError) as rejected:
        client.put_item(TableName=table, Item={"course_id": {"S": "a"}})
    assert rejected.value.response["Error"]["Code"] == "TransactionConflictException"
    client.put_item(TableName=table, Item={"course_id": {"S": "c"}})
    assert front.counts == {"committed": 1, "TransactionConflict": 1, "TransactionConflictException": 1}


def test_a_committed_token_is_answered_again_without_a_second_write(
    front: ConflictFront, tables: dict[str, str], dynamodb: DynamoDBClient,
) -> None:
    client, table = client_of(front.url), tables["COURSES_TABLE"]
    token = uuid.uuid4().hex
    client.transact_write_items(TransactItems=[add_one(table, "a")], ClientRequestToken=token)
    client.transact_write_items(TransactItems=[add_one(table, "a")], ClientRequestToken=token)  # an SDK retry
    item = dynamodb.get_item(TableName=table, Key={"course_id": {"S": "a"}}, ConsistentRead=True)["Item"]
    assert item["n"] == {"N": "1"}
    assert front.counts["replayed"] == 1


def test_concurrent_windows_of_many_shards_on_one_course_all_count(
    moto_endpoint: MotoEndpoint, tables: dict[str, str], dynamodb: DynamoDBClient,
) -> None:
    # Given a launch course whose records sit on 8 stream shards, each closing its window at once,
    # through a front holding each committed transaction's items for 20 ms
    table = tables["COURSES_TABLE"]
    batch_write(dynamodb, table, [course_item("launch0001")])
    front = ConflictFront(moto_endpoint.url, hold_s=0.25).start()
    try:
        writer = CountWriter(client_of(front.url), table)
        shards = 8
        barrier = threading.Barrier(shards + 1)
        outcomes: list[Applied] = []

        def close(shard: int) -> None:
            barrier.wait()
            window = WindowSum(10, 100, 200, 1_800_000_000)
            for _ in range(LAMBDA_BATCH_RETRIES):
                try:
                    outcomes.append(writer.apply("launch0001", f"shardId-{shard:04d}", window))
                    return
                except DependencyUnavailable:
                    # Lambda retries a stream batch whose function raised; the mark makes it count once
                    continue

        threads = [threading.Thread(target=close, args=(n,)) for n in range(shards)]
        for thread in threads:
            thread.start()
        # An author's edit commits on the course row first, so the windows' first attempts meet its hold
        # whatever the machine's speed (the front holds a committed transaction's items for hold_s)
        client_of(front.url).transact_write_items(TransactItems=[add_one(table, "launch0001")])
        barrier.wait()
        for thread in threads:
            thread.join()
    finally:
        front.stop()
    # Then they met on the course row (the front cancelled some), retried, and every window counted once
    assert front.counts["TransactionConflict"] > 0
    assert outcomes == [Applied.COUNTED] * shards
    item = dynamodb.get_item(TableName=table, Key={"course_id": {"S": "launch0001"}}, ConsistentRead=True)["Item"]
    assert item["enrollment_count"] == {"N": str(10 * shards)}
