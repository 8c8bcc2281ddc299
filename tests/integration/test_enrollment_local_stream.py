"""The local stream poller (``local/streams.py``) delivers what DynamoDB would, and counts through it are exact.

DynamoDB writes no stream record for a cancelled ``TransactWriteItems`` (nothing was
written). moto does, on a copy of its tables it then discards; an iterator taken before
the rollback still reads it. These tests cancel transactions while the poller reads, as
``make run`` does whenever a transaction meets a condition.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from courses_api.data.dynamo import batch_write
from courses_api.domain.auth import Caller
from local.specs import StreamSubscription
from local.streams import StreamPoller
from tests.integration.linearizable import serialize
from tests.support.data import course_item
from tests.support.functions import invoke, load_function
from tests.support.services import MotoEndpoint

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

ROUNDS = 40


def cancel_transaction(dynamodb: DynamoDBClient, table: str, item: dict[str, Any], absent: dict[str, Any]) -> None:
    """A transaction that writes ``item`` first and is then cancelled by a check that ``absent`` exists."""
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        dynamodb.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": item}},
            {"ConditionCheck": {"TableName": table, "Key": absent,
                                "ConditionExpression": "attribute_exists(course_id)"}},
        ])


@pytest.fixture
def poller(moto_endpoint: MotoEndpoint) -> Iterator[Callable[..., StreamPoller]]:
    started: list[StreamPoller] = []

    def start(table: str, subscription: StreamSubscription, handler: Callable[[dict[str, Any]], Any]) -> StreamPoller:
        poller = StreamPoller(moto_endpoint.url, table, subscription, handler, starting_position="TRIM_HORIZON")
        poller.start()
        assert poller.wait_ready()
        started.append(poller)
        return poller

    yield start
    for poller in started:
        poller.stop()


def test_records_of_cancelled_transactions_are_never_delivered_and_none_is_skipped(
    moto_endpoint: MotoEndpoint, tables: dict[str, str], dynamodb: DynamoDBClient,
    poller: Callable[..., StreamPoller],
) -> None:
    serialize(moto_endpoint)
    table = tables["COURSES_TABLE"]
    batch_write(dynamodb, table, [course_item("exists")])  # one record before the poller starts
    delivered: list[str] = []
    lock = threading.Lock()

    def collect(event: dict[str, Any]) -> dict[str, Any]:
        with lock:
            delivered.extend(r["dynamodb"]["Keys"]["course_id"]["S"] for r in event["Records"])
        return {"batchItemFailures": []}

    reader = poller(table, StreamSubscription("Collector", "CoursesTable", batch_size=1000,
                                              report_batch_item_failures=True), collect)
    # When committed writes and cancelled transactions interleave while the poller reads
    for n in range(ROUNDS):
        dynamodb.put_item(TableName=table, Item={"course_id": {"S": f"real{n:03d}"}})
        cancel_transaction(dynamodb, table, {"course_id": {"S": f"phantom{n:03d}"}}, {"course_id": {"S": "absent"}})
    assert reader.drain()
    # Then exactly the committed writes arrive, each once, in order
    assert delivered == ["exists", *(f"real{n:03d}" for n in range(ROUNDS))]


def test_counts_through_the_local_poller_are_exact_after_overlapping_repeats(
    moto_endpoint: MotoEndpoint, tables: dict[str, str], dynamodb: DynamoDBClient, without_redis: None,
    poller: Callable[..., StreamPoller],
) -> None:
    serialize(moto_endpoint)
    courses, enrollments = tables["COURSES_TABLE"], tables["ENROLLMENTS_TABLE"]
    batch_write(dynamodb, courses, [course_item("c0001")])
    counter = load_function("enrollment_counter")
    reader = poller(enrollments, StreamSubscription("EnrollmentCounterFunction", "EnrollmentsTable",
                                                    batch_size=7, tumbling_window_s=60),
                    lambda event: invoke(counter, event))
    students = 30
    services = [load_function("enroll").container.enrollment_service for _ in range(6)]

    def enroll(n: int) -> bool:
        # each student twice, from two containers, the repeat racing the first
        created: bool = services[n % 6].enroll(Caller(f"student-{n // 2:04d}"), "c0001").created
        return created

    def cancel(n: int) -> None:
        row = {"user_id": {"S": f"ghost-{n:04d}"}, "course_id": {"S": "c0001"},
               "enrolled_at": {"S": "2026-12-01T10:00:00Z"}, "course_shard": {"S": "c0001#00"}}
        cancel_transaction(dynamodb, enrollments, row, {"user_id": {"S": "nobody"}, "course_id": {"S": "c0001"}})

    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(enroll, range(students * 2)))
        list(pool.map(cancel, range(students)))
    assert sum(created) == students
    assert reader.drain()  # every record delivered, the window closed
    row = dynamodb.get_item(TableName=courses, Key={"course_id": {"S": "c0001"}}, ConsistentRead=True)["Item"]
    assert row["enrollment_count"] == {"N": str(students)}
    assert reader.dropped == 0
