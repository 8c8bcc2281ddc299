"""Version fences hold for any lag: a late or reordered invalidation never lets an older row in.

A test double stands in for part of DynamoDB, because moto has no replica lag:
``benchmarks.replica_race.LaggingReplica`` wraps the moto client (over HTTP) and answers an
eventually consistent read of a course written less than ``lag_s`` ago with its image before
that write. Time is a :class:`~tests.support.clock.FakeClock` for the code and the replica,
and :func:`advance_redis` for the server's TTLs: nothing here waits on the wall clock.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
import redis

from benchmarks.replica_race import LaggingReplica, seed_courses
from courses_api.data.courses import CourseRepository
from courses_api.data.cursors import CursorCodec
from courses_api.data.dynamo import from_attributes
from courses_api.domain.auth import ANONYMOUS
from courses_api.domain.course_reads import CourseReads
from courses_api.domain.invalidation import Invalidator
from tests.integration.cache.conftest import ManagerFactory, advance_redis
from tests.support.clock import FakeClock

EDIT_GAP_S = 10.0  # v3 is written this long after v2
LATE_S = 5.0  # then v2's invalidation arrives this long after v3's: far past the 2 s fences of old
REPLICA_LAG_S = 10.0  # and the replica still serves v2 then (it lags more than the fence TTL)


def _image(dynamodb: Any, table: str, course_id: str) -> dict[str, Any]:
    item = dynamodb.get_item(TableName=table, Key={"course_id": {"S": course_id}}, ConsistentRead=True)["Item"]
    return from_attributes(item)


@pytest.mark.parametrize("order", ["late", "reordered"])
def test_an_older_invalidation_arriving_after_the_fence_time_admits_no_stale_row(
    tables: dict[str, str], dynamodb: Any, manager_factory: ManagerFactory, redis_client: redis.Redis, order: str
) -> None:
    table = tables["COURSES_TABLE"]
    clock = FakeClock()
    (course_id,) = seed_courses(dynamodb, table, 1, "fence")
    replica: Any = LaggingReplica(dynamodb, lag_s=REPLICA_LAG_S, clock=clock.monotonic)  # the client double
    manager = manager_factory(clock=clock, near_ttl_s=0)
    reads = CourseReads(CourseRepository(replica, table), manager, CursorCodec(secrets.token_bytes(32)))
    invalidator = Invalidator(manager)
    # Given two edits (v2, then v3), each invalidated right after it committed
    images = [_image(dynamodb, table, course_id)]
    for version in (2, 3):
        if version == 3:
            clock.advance(EDIT_GAP_S)
            advance_redis(redis_client, EDIT_GAP_S)
        replica.update_item(TableName=table, Key={"course_id": {"S": course_id}},
                            UpdateExpression="SET version = :v, title = :t",
                            ExpressionAttributeValues={":v": {"N": str(version)}, ":t": {"S": f"v{version}"}})
        images.append(_image(dynamodb, table, course_id))
        if order == "late" or version == 3:
            invalidator.after_write(course_id, images[-2], images[-1])
    # When the invalidation of v2 arrives long after v3's (a lagging stream, or queued behind v3)
    clock.advance(LATE_S)
    advance_redis(redis_client, LATE_S)
    invalidator.after_write(course_id, images[0], images[1])
    # Then a miss read from the replica (which still serves v2) stores v3, not v2
    served = reads.get_course(course_id, ANONYMOUS)
    assert replica.lagging_reads >= 1, "the replica answered with an older image"
    assert served.value.version == 3
    assert reads.get_course(course_id, ANONYMOUS).value.version == 3  # and what is stored is v3 too


def test_the_same_write_invalidated_twice_keeps_what_was_filled_after_it(
    tables: dict[str, str], dynamodb: Any, manager_factory: ManagerFactory
) -> None:
    """The write path and then the stream invalidate each write: the second one finds the fence
    already at that version and leaves the entry filled since (which reflects the write)."""
    table = tables["COURSES_TABLE"]
    (course_id,) = seed_courses(dynamodb, table, 1, "twice")
    manager = manager_factory(near_ttl_s=0)
    repository = CourseRepository(dynamodb, table)
    reads = CourseReads(repository, manager, CursorCodec(secrets.token_bytes(32)))
    before = _image(dynamodb, table, course_id)
    dynamodb.update_item(TableName=table, Key={"course_id": {"S": course_id}},
                         UpdateExpression="SET version = :v", ExpressionAttributeValues={":v": {"N": "2"}})
    after = _image(dynamodb, table, course_id)
    Invalidator(manager).after_write(course_id, before, after)
    assert reads.get_course(course_id, ANONYMOUS).outcome == "MISS"
    Invalidator(manager).after_write(course_id, before, after)  # the stream's copy of the same write
    assert reads.get_course(course_id, ANONYMOUS).outcome == "HIT"
