"""A launch in miniature: many containers enroll many students in one course at once.

Each container is a process of its own running the real ``enroll`` handler (see
``enroll_container``), against moto over HTTP behind the conflict front
(``tests/support/conflicts.py``): linearizable as DynamoDB is, and answering a write that
meets a held transaction's item with DynamoDB's conflict errors. Every student is sent by
two containers, so repeats race their first enrollment.

The front's hold follows the load: at ``rho`` 1.56 and 6.25 it is the hold at which a
design that spread these enrollments over 32 shared items (the count shards of the
previous release) would meet the per-item load of a 10,000/s launch at 5 ms and 20 ms
holds (rho = per-item rate x hold). Enrolling writes no item another student writes, so
nothing can conflict: every request is answered 201 or 200, none 5xx.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from types import ModuleType
from typing import Any

import pytest

from courses_api.data.dynamo import batch_write
from courses_api.data.enrollments import ROSTER_SHARDS, WIDE_AT, roster_partition
from tests.integration.enroll_container import run_container
from tests.support.conflicts import ConflictFront
from tests.support.data import course_item
from tests.support.events import claims_for, load_event
from tests.support.functions import call
from tests.support.services import MotoEndpoint
from tests.support.streams import Counts, StreamReader, settle

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]  # six processes start: slow on a loaded machine

COURSE = "launch0001"
OWNER = "instructor-0001"
CONTAINERS = 6
STUDENTS = 90  # each sent twice, by two different containers: 180 requests


Results = dict[str, list[tuple[str, int, str | None]]]


@pytest.fixture(params=[1.56, 6.25], ids=["rho-1.56", "rho-6.25"])
def front(request: pytest.FixtureRequest, moto_endpoint: MotoEndpoint, tables: dict[str, str]) -> Any:
    started = ConflictFront(moto_endpoint.url, rho=request.param, shares=32,
                            rate_table=tables["ENROLLMENTS_TABLE"]).start()
    yield started
    started.stop()


@pytest.fixture
def launch(
    tables: dict[str, str], dynamodb: Any, front: ConflictFront, without_redis: None, monkeypatch: pytest.MonkeyPatch,
) -> Results:
    """Run the launch through the front; returns each container's results, keyed by container."""
    monkeypatch.setenv("DYNAMODB_ENDPOINT", front.url)
    monkeypatch.setenv("DYNAMODB_READ_TIMEOUT_S", "20")  # queued behind the others: no SDK retry mid-test
    # a launch under way: the count shown has passed WIDE_AT, so the roster is spread
    batch_write(dynamodb, tables["COURSES_TABLE"], [course_item(COURSE, instructor_id=OWNER, enrollment_count=WIDE_AT)])
    students = [f"student-{n:04d}" for n in range(STUDENTS)]
    # container c sends students c, c+6, ... and, shifted by three containers, their repeats
    plans: list[list[str]] = [[] for _ in range(CONTAINERS)]
    for n, user_id in enumerate(students):
        plans[n % CONTAINERS].append(user_id)
        plans[(n + CONTAINERS // 2) % CONTAINERS].append(user_id)
    context = multiprocessing.get_context("spawn")
    manager = context.Manager()
    start = manager.Barrier(CONTAINERS)
    environment = dict(os.environ)
    try:
        with ProcessPoolExecutor(max_workers=CONTAINERS, mp_context=context) as pool:
            futures = [pool.submit(run_container, environment, plan, COURSE, start) for plan in plans]
            return {f"container-{c}": future.result(timeout=300) for c, future in enumerate(futures)}
    finally:
        manager.shutdown()


def test_every_student_is_counted_once_and_nothing_fails(
    launch: Results, front: ConflictFront, dynamodb: Any, tables: dict[str, str],
    function: Callable[[str], ModuleType], moto_endpoint: MotoEndpoint,
) -> None:
    results = [result for container in launch.values() for result in container]
    statuses = Counter(status for _, status, _ in results)
    # no 5xx, no contention error: every request is a 201 (created) or a 200 (already enrolled)
    assert set(statuses) <= {200, 201}, statuses
    # the front was loaded (its hold for the 32-item spread is rho x 32 / that rate) and never
    # had to refuse anything: enrolling starts no transaction and writes no shared item
    assert front.peak_rate > 0
    assert front.counts["committed"] == front.counts["TransactionConflict"] == 0, front.counts
    assert front.counts["TransactionConflictException"] == 0, front.counts
    by_student: dict[str, list[int]] = defaultdict(list)
    for user_id, status, body_user in results:
        assert body_user == user_id, "each caller gets their own enrollment back"
        by_student[user_id].append(status)
    # each student: exactly one request created the enrollment, the repeat found it
    assert all(sorted(s) == [200, 201] for s in by_student.values()), by_student
    assert len(by_student) == STUDENTS

    # no enrollment wrote the course row: it took no write a student's request made
    courses, enrollments = tables["COURSES_TABLE"], tables["ENROLLMENTS_TABLE"]
    course_row = dynamodb.get_item(TableName=courses, Key={"course_id": {"S": COURSE}}, ConsistentRead=True)["Item"]
    assert course_row["enrollment_count"] == {"N": str(WIDE_AT)}, "no enrollment wrote the course row"
    rows = 0
    used = 0
    for shard in range(ROSTER_SHARDS):
        found = dynamodb.query(
            TableName=enrollments, IndexName="ByCourse", Select="COUNT",
            KeyConditionExpression="course_shard = :p",
            ExpressionAttributeValues={":p": {"S": roster_partition(COURSE, shard)}})["Count"]
        rows += found
        used += found > 0
    assert rows == STUDENTS
    assert used > ROSTER_SHARDS // 2, "90 students land on most of the 32 roster partitions"

    # the counter's window closes: one write adds every student; the row's change reaches the cache
    counts = Counts(moto_endpoint.url, dynamodb, enrollments, courses)
    assert counts.close_window() == STUDENTS, "one record per enrollment, none per repeat"
    assert counts.count_of(COURSE) == WIDE_AT + STUDENTS
    settle(function("stream_invalidator"), StreamReader(moto_endpoint.url, dynamodb, courses))

    # the roster, the count and each student's /me/enrollments agree
    roster_fn, mine_fn, get_fn = function("list_course_enrollments"), function("list_my_enrollments"), function(
        "get_course")
    listed: list[str] = []
    query = {"limit": "17"}
    while True:
        page = call(roster_fn, load_event("list_course_enrollments", path_parameters={"course_id": COURSE},
                                          claims=claims_for(OWNER, "instructors"), query=query)).body
        listed += [entry["user_id"] for entry in page["items"]]
        if not page["next_cursor"]:
            break
        query = {"limit": "17", "cursor": page["next_cursor"]}
    assert sorted(listed) == sorted(by_student), "one cursor walks every shard, each student once"
    assert call(get_fn, load_event("get_course", path_parameters={"course_id": COURSE})).body[
        "enrollment_count"] == WIDE_AT + STUDENTS
    for user_id in ("student-0000", "student-0045", "student-0089"):
        items = call(mine_fn, load_event("list_my_enrollments", claims=claims_for(user_id))).body["items"]
        assert [(i["course_id"], i["course"]["enrollment_count"]) for i in items] == [(COURSE, WIDE_AT + STUDENTS)]
