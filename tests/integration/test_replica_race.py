"""Eventually consistent fills under a lagging replica: version fences store no stale row.

A test double stands in for part of DynamoDB here, because moto has no replica lag: its
eventually consistent reads are always fresh. ``benchmarks.replica_race.LaggingReplica``
wraps the moto client (over HTTP, as everywhere else) and answers eventually consistent
``GetItem``/``BatchGetItem`` of a recently written course with the image that was current
``lag_s`` earlier; everything else is moto's. Redis is the real test server.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis

from benchmarks.replica_race import LaggingReplica, run_race, seed_courses
from courses_api.data.dynamo import from_attributes


def test_the_double_serves_the_previous_image_for_the_lag_after_a_write(
    tables: dict[str, str], dynamodb: Any
) -> None:
    clock = [100.0]
    table = tables["COURSES_TABLE"]
    (course_id,) = seed_courses(dynamodb, table, 1, "lag")
    replica = LaggingReplica(dynamodb, lag_s=0.5, clock=lambda: clock[0])
    key = {"course_id": {"S": course_id}}
    replica.update_item(TableName=table, Key=key, UpdateExpression="SET version = :v",
                        ExpressionAttributeValues={":v": {"N": "2"}})

    def version(consistent: bool) -> int:
        item = replica.get_item(TableName=table, Key=key, ConsistentRead=consistent)["Item"]
        return int(from_attributes(item)["version"])

    assert (version(False), version(True)) == (1, 2), "within the lag the replica has the old row"
    batch = replica.batch_get_item(RequestItems={table: {"Keys": [key]}})
    assert from_attributes(batch["Responses"][table][0])["version"] == 1
    clock[0] += 0.6
    assert version(False) == 2, "after the lag it has caught up"


@pytest.mark.parametrize("lag_s", [0.1, 0.3])
def test_fenced_fills_store_no_stale_value_under_concurrent_writers_and_readers(
    tables: dict[str, str], dynamodb: Any, redis_url: str, redis_client: redis.Redis, lag_s: float
) -> None:
    # Given 2 writers and 4 reader containers racing on 4 hot courses, behind a replica lagging lag_s
    result = run_race(dynamodb, tables["COURSES_TABLE"], redis_url, guarded=True, lag_s=lag_s, duration_s=2.0)
    # Then the race happened: rows were written, and readers were served old rows by the replica
    assert result.writes >= 5, result
    assert result.reads >= 50, result
    assert result.lagging_reads > 0, result
    # And no stale value was ever found stored in Redis
    assert result.stale_values_stored == 0, result.examples


def test_without_the_fence_check_the_same_race_stores_stale_values(
    tables: dict[str, str], dynamodb: Any, redis_url: str, redis_client: redis.Redis
) -> None:
    # The control: identical race, but the fence admits every row, as a plain eventually consistent fill would
    result = run_race(dynamodb, tables["COURSES_TABLE"], redis_url, guarded=False, lag_s=0.2, duration_s=2.0)
    assert result.stale_values_stored > 0, result
