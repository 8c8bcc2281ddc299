"""The enrollment counter: Enrollments stream records (read from moto) summed per window, applied once.

Lambda's tumbling-window contract (state handed from one invocation to the next, a final
invocation per window, ``shardId`` in the event) is from
https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-windows.html (read 2026-12-03).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from courses_api.data.dynamo import batch_write
from courses_api.data.enrollment_counts import MARK_LIFETIME_S, mark_key, padded
from courses_api.data.enrollments import WIDE_AT, enrollment_row
from courses_api.errors import DependencyUnavailable
from tests.support.data import course_item
from tests.support.events import claims_for, load_event
from tests.support.functions import call, invoke
from tests.support.services import MotoEndpoint, free_port
from tests.support.streams import StreamReader, run_window, settle

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

SHARD = "shardId-00000001795842000000-8f3a2b1c"


def enroll_rows(dynamodb: DynamoDBClient, table: str, pairs: list[tuple[str, str]]) -> None:
    """Enrollment rows as the enroll path writes them (one INSERT record each)."""
    rows = [enrollment_row(user, course, "2026-12-01T10:00:00.000000Z") for user, course in pairs]
    batch_write(dynamodb, table, rows)


def stored(dynamodb: DynamoDBClient, table: str, key: str) -> dict[str, Any]:
    return dynamodb.get_item(TableName=table, Key={"course_id": {"S": key}}, ConsistentRead=True).get("Item") or {}


def count(dynamodb: DynamoDBClient, table: str, course_id: str) -> int | None:
    item = stored(dynamodb, table, course_id)
    return int(item["enrollment_count"]["N"]) if item else None


@pytest.fixture
def counter(function: Callable[[str], ModuleType], without_redis: None, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("DYNAMODB_READ_TIMEOUT_S", "20")  # a busy moto is slow, not lost: no SDK retry mid-window
    return function("enrollment_counter")


@pytest.fixture
def records(
    tables: dict[str, str], dynamodb: DynamoDBClient, moto_endpoint: MotoEndpoint
) -> Callable[[], list[dict[str, Any]]]:
    """The Enrollments stream's records since the previous call (one moto shard)."""
    reader = StreamReader(moto_endpoint.url, dynamodb, tables["ENROLLMENTS_TABLE"])
    return reader.new_records


def test_a_window_writes_each_course_once_with_its_sum(
    tables: dict[str, str], dynamodb: DynamoDBClient, counter: ModuleType,
    records: Callable[[], list[dict[str, Any]]],
) -> None:
    courses, enrollments = tables["COURSES_TABLE"], tables["ENROLLMENTS_TABLE"]
    batch_write(dynamodb, courses, [course_item("c0001", enrollment_count=7), course_item("c0002")])
    enroll_rows(dynamodb, enrollments, [(f"s{n}", "c0001") for n in range(5)] + [("s9", "c0002")])
    writes: list[str] = []
    counter.container.dynamodb.meta.events.register(
        "provide-client-params.dynamodb.TransactWriteItems",
        lambda params, **_: writes.append(params["TransactItems"][1]["Update"]["Key"]["course_id"]["S"]))
    batch = records()
    # Given the window's records in three batches: nothing is written before the window closes
    run_window(counter, SHARD, "arn", [batch[:2], batch[2:4], batch[4:]])
    # Then one transaction per course, adding the window's sum to what the row held
    assert sorted(writes) == ["c0001", "c0002"]
    assert (count(dynamodb, courses, "c0001"), count(dynamodb, courses, "c0002")) == (12, 1)
    # the course's mark for the shard is its last record's sequence number
    last = [r for r in batch if r["dynamodb"]["Keys"]["course_id"]["S"] == "c0001"][-1]
    mark = stored(dynamodb, courses, mark_key("c0001", SHARD))
    assert int(mark["sequence"]["S"]) == int(last["dynamodb"]["SequenceNumber"])
    assert int(mark["expires_at"]["N"]) >= batch[0]["dynamodb"]["ApproximateCreationDateTime"] + MARK_LIFETIME_S


def test_a_replayed_window_counts_nothing_and_never_moves_a_count_back(
    tables: dict[str, str], dynamodb: DynamoDBClient, counter: ModuleType,
    records: Callable[[], list[dict[str, Any]]],
) -> None:
    courses, enrollments = tables["COURSES_TABLE"], tables["ENROLLMENTS_TABLE"]
    batch_write(dynamodb, courses, [course_item("c0001")])
    enroll_rows(dynamodb, enrollments, [("s1", "c0001"), ("s2", "c0001")])
    first = records()
    run_window(counter, SHARD, "arn", [first])
    enroll_rows(dynamodb, enrollments, [("s3", "c0001")])
    second = records()
    run_window(counter, SHARD, "arn", [second])
    assert count(dynamodb, courses, "c0001") == 3
    # When a retried final invocation, or a mapping recreated at TRIM_HORIZON, delivers them again
    run_window(counter, SHARD, "arn", [second])
    run_window(counter, SHARD, "arn", [first])
    run_window(counter, SHARD, "arn", [first, second])
    # Then the count neither grows nor drops back to an older value
    assert count(dynamodb, courses, "c0001") == 3


def test_a_window_that_overlaps_a_counted_one_is_recounted_from_the_rows(
    tables: dict[str, str], dynamodb: DynamoDBClient, counter: ModuleType,
    records: Callable[[], list[dict[str, Any]]],
) -> None:
    courses, enrollments = tables["COURSES_TABLE"], tables["ENROLLMENTS_TABLE"]
    batch_write(dynamodb, courses, [course_item("c0001")])
    enroll_rows(dynamodb, enrollments, [("s1", "c0001"), ("s2", "c0001")])
    first = records()
    run_window(counter, SHARD, "arn", [first[:1]])  # the first window ended after one record
    # a redelivery whose window spans the counted record and one that was not
    run_window(counter, SHARD, "arn", [first])
    assert count(dynamodb, courses, "c0001") == 2


def test_a_deleted_course_gets_no_count_and_no_row(
    tables: dict[str, str], dynamodb: DynamoDBClient, counter: ModuleType,
    records: Callable[[], list[dict[str, Any]]],
) -> None:
    courses, enrollments = tables["COURSES_TABLE"], tables["ENROLLMENTS_TABLE"]
    batch_write(dynamodb, courses, [course_item("c0001")])
    enroll_rows(dynamodb, enrollments, [("s1", "c0001"), ("s1", "gone0001"), ("s2", "gone0001")])
    run_window(counter, SHARD, "arn", [records()])
    assert count(dynamodb, courses, "c0001") == 1
    assert stored(dynamodb, courses, "gone0001") == {}, "a count never recreates a deleted course"
    assert stored(dynamodb, courses, mark_key("gone0001", SHARD)) == {}, "nor leaves a mark for it"


def test_counting_needs_no_redis(
    tables: dict[str, str], dynamodb: DynamoDBClient, function: Callable[[str], ModuleType],
    records: Callable[[], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    courses, enrollments = tables["COURSES_TABLE"], tables["ENROLLMENTS_TABLE"]
    batch_write(dynamodb, courses, [course_item("c0001")])
    enroll_rows(dynamodb, enrollments, [("s1", "c0001")])
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    run_window(function("enrollment_counter"), SHARD, "arn", [records()])
    assert count(dynamodb, courses, "c0001") == 1


def test_a_failed_write_fails_the_invocation_and_its_retry_counts_once(
    tables: dict[str, str], dynamodb: DynamoDBClient, function: Callable[[str], ModuleType],
    records: Callable[[], list[dict[str, Any]]], monkeypatch: pytest.MonkeyPatch, without_redis: None,
) -> None:
    courses, enrollments = tables["COURSES_TABLE"], tables["ENROLLMENTS_TABLE"]
    batch_write(dynamodb, courses, [course_item("c0001")])
    enroll_rows(dynamodb, enrollments, [("s1", "c0001"), ("s2", "c0001")])
    batch = records()
    state = run_window(function("enrollment_counter"), SHARD, "arn", [batch[:1]])
    assert state == {}
    event = load_event("enrollment_counter")
    event.update(Records=batch[1:], state={}, shardId=SHARD)
    with monkeypatch.context() as down:
        down.setenv("DYNAMODB_ENDPOINT", f"http://127.0.0.1:{free_port()}")
        down.setenv("DYNAMODB_MAX_ATTEMPTS", "1")
        with pytest.raises(DependencyUnavailable):
            invoke(function("enrollment_counter"), event)
    # Lambda retries the final invocation with the same state: it is applied once
    assert invoke(function("enrollment_counter"), event) == {"state": {}}
    assert invoke(function("enrollment_counter"), event) == {"state": {}}
    assert count(dynamodb, courses, "c0001") == 2


def test_the_sample_event_is_a_final_invocation(
    tables: dict[str, str], dynamodb: DynamoDBClient, counter: ModuleType
) -> None:
    event = load_event("enrollment_counter")
    course_id = "c0ffee00000000000000000000000001"
    batch_write(dynamodb, tables["COURSES_TABLE"], [course_item(course_id)])
    assert event["isFinalInvokeForWindow"] is True
    assert invoke(counter, event) == {"state": {}}
    assert count(dynamodb, tables["COURSES_TABLE"], course_id) == 3  # one from the state, two records


def test_a_course_filling_a_window_fast_is_written_early_once_and_still_counted_exactly(
    tables: dict[str, str], dynamodb: DynamoDBClient, counter: ModuleType,
    records: Callable[[], list[dict[str, Any]]],
) -> None:
    courses, enrollments = tables["COURSES_TABLE"], tables["ENROLLMENTS_TABLE"]
    batch_write(dynamodb, courses, [course_item("launch0001"), course_item("quiet0001")])
    enroll_rows(dynamodb, enrollments, [(f"s{n:04d}", "launch0001") for n in range(WIDE_AT + 20)]
                + [("q1", "quiet0001")])
    batch = records()
    event = load_event("enrollment_counter")
    event.update(Records=batch[:WIDE_AT + 1], state={}, shardId=SHARD, isFinalInvokeForWindow=False)
    # Given the first batch of a window holding WIDE_AT records of one course
    response = invoke(counter, event)
    # Then that course is written at once (its roster turns wide within a batch), the quiet one waits
    assert count(dynamodb, courses, "launch0001") == WIDE_AT + 1
    assert count(dynamodb, courses, "quiet0001") == 0
    assert response["state"]["early"] == ["launch0001"]
    # and the rest of the window is counted when it closes, once, also when the window is delivered again
    event.update(Records=batch[WIDE_AT + 1:], state=response["state"], isFinalInvokeForWindow=True)
    assert invoke(counter, event) == {"state": {}}
    run_window(counter, SHARD, "arn", [batch])
    assert (count(dynamodb, courses, "launch0001"), count(dynamodb, courses, "quiet0001")) == (WIDE_AT + 20, 1)


def test_enrolling_in_a_course_deleted_within_the_cache_staleness_is_accepted_and_counted_nowhere(
    tables: dict[str, str], dynamodb: DynamoDBClient, function: Callable[[str], ModuleType],
    records: Callable[[], list[dict[str, Any]]], with_redis: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a published course cached as such, then deleted behind the cache (its stream record not yet seen)
    monkeypatch.setenv("NEAR_CACHE_TTL_S", "0")
    courses = tables["COURSES_TABLE"]
    batch_write(dynamodb, courses, [course_item("c0001")])
    get_fn, enroll_fn, mine_fn = function("get_course"), function("enroll"), function("list_my_enrollments")
    assert call(get_fn, load_event("get_course", path_parameters={"course_id": "c0001"})).status == 200
    dynamodb.delete_item(TableName=courses, Key={"course_id": {"S": "c0001"}})
    # When a student enrolls from the stale entry: the enrollment is accepted (it is their history) ...
    enrolled = call(enroll_fn, load_event("enroll", path_parameters={"course_id": "c0001"},
                                          claims=claims_for("student-0001")))
    assert enrolled.status == 201
    # ... it shows consistently: once the delete's record drops the entry, /me/enrollments lists it
    # with course null, as any enrollment of a deleted course
    reader = StreamReader(str(dynamodb.meta.endpoint_url), dynamodb, courses)
    settle(function("stream_invalidator"), reader)
    mine = call(mine_fn, load_event("list_my_enrollments", claims=claims_for("student-0001"))).body["items"]
    assert [(i["course_id"], i["course"]) for i in mine] == [("c0001", None)]
    # ... and the counter leaves no count, no row and no mark for the deleted course
    run_window(function("enrollment_counter"), SHARD, "arn", [records()])
    assert stored(dynamodb, courses, "c0001") == {}
    assert stored(dynamodb, courses, mark_key("c0001", SHARD)) == {}


def test_marks_stay_off_the_course_row_however_many_stream_shards_count_it(
    tables: dict[str, str], dynamodb: DynamoDBClient, counter: ModuleType,
    records: Callable[[], list[dict[str, Any]]],
) -> None:
    # DynamoDB bills a read by item size, 4 KB per read unit (0.5 eventually consistent):
    # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html
    # (read 2026-12-03). A mark on the row would grow it with every stream shard (a day of
    # shard rollovers on a busy table is hundreds); here 120 shards count one course.
    courses, enrollments = tables["COURSES_TABLE"], tables["ENROLLMENTS_TABLE"]
    batch_write(dynamodb, courses, [course_item("c0001")])
    before = stored(dynamodb, courses, "c0001")
    enroll_rows(dynamodb, enrollments, [(f"s{n:04d}", "c0001") for n in range(120)])
    delivered = records()
    assert len(delivered) == 120
    shards = [f"shardId-{n:08d}-{n:04x}" for n in range(120)]
    for shard, record in zip(shards, delivered, strict=True):
        run_window(counter, shard, "arn", [[record]])
    # Each window committed its own mark, at its record: judged by what is stored, not by each
    # request's first answer (a slow moto can make the SDK retry a transaction that committed,
    # and the retry is then refused by the mark it wrote: the right outcome, and no flake).
    for shard, record in zip(shards, delivered, strict=True):
        mark = stored(dynamodb, courses, mark_key("c0001", shard))
        assert mark["sequence"] == {"S": padded(int(record["dynamodb"]["SequenceNumber"]))}
    after = stored(dynamodb, courses, "c0001")
    # the row gained nothing but its count's value: the same attributes, so the same size but a few bytes
    assert set(after) == set(before)
    assert after["enrollment_count"] == {"N": "120"}
    assert {k: v for k, v in after.items() if k != "enrollment_count"} == {
        k: v for k, v in before.items() if k != "enrollment_count"}
