"""The stream invalidator, fed with real records read from moto's DynamoDB Streams."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

import boto3
import pytest
import redis
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

from courses_api.cache.api import ListNamespace
from courses_api.data.dynamo import batch_write
from courses_api.data.enrollment_counts import is_course_key, mark_key
from courses_api.domain.stream_invalidation import InvalidationNotDelivered, plan_for_record
from tests.support.data import course_item
from tests.support.events import claims_for, load_event
from tests.support.functions import call
from tests.support.functions import invoke as invoke_in_process
from tests.support.services import FAKE_CREDENTIALS, LOCAL_REGION, MotoEndpoint, free_port

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

OWNER = "instructor-0001"
OWNER_CLAIMS = claims_for(OWNER, "instructors")


def stream_event(endpoint: MotoEndpoint, dynamodb: DynamoDBClient, table: str) -> dict[str, Any]:
    """Every record of the table's stream so far, as Lambda's event source mapping delivers them."""
    streams = boto3.client("dynamodbstreams", endpoint_url=endpoint.url, region_name=LOCAL_REGION,
                           aws_access_key_id=FAKE_CREDENTIALS["aws_access_key_id"],
                           aws_secret_access_key=FAKE_CREDENTIALS["aws_secret_access_key"])
    arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            response = streams.get_records(ShardIterator=iterator, Limit=1000)
            for record in response["Records"]:
                stream = dict(record["dynamodb"])
                created = stream.get("ApproximateCreationDateTime")
                if created is not None and not isinstance(created, int | float):
                    stream["ApproximateCreationDateTime"] = int(created.timestamp())
                records.append({**record, "dynamodb": stream, "eventSourceARN": arn})
            if not response["Records"]:
                break
            iterator = response.get("NextShardIterator")
    return {"Records": records}


@pytest.fixture
def read_stream(
    tables: dict[str, str], dynamodb: DynamoDBClient, moto_endpoint: MotoEndpoint
) -> Callable[[], dict[str, Any]]:
    return lambda: stream_event(moto_endpoint, dynamodb, tables["COURSES_TABLE"])


def invoke(module: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    response: dict[str, Any] = invoke_in_process(module, event)
    return response


def test_records_of_each_write_plan_the_same_invalidation_as_the_write(
    tables: dict[str, str], without_redis: None, function: Callable[[str], ModuleType],
    read_stream: Callable[[], dict[str, Any]],
) -> None:
    # Given a course created published, moved to another category, enrolled in and deleted through the API
    create = call(function("create_course"), load_event("create_course", claims=OWNER_CLAIMS, body={
        "title": "Streams", "category": "web-development", "level": "beginner", "price": 1, "status": "published"}))
    course_id = create.body["course_id"]
    path = {"course_id": course_id}
    assert call(function("update_course"), load_event(
        "update_course", path_parameters=path, headers={"If-Match": '"1"'}, claims=OWNER_CLAIMS,
        body={"category": "data-science"})).status == 200
    assert call(function("enroll"), load_event("enroll", path_parameters=path,
                                               claims=claims_for("student-0001"))).status == 201
    assert call(function("delete_course"), load_event("delete_course", path_parameters=path,
                                                      headers={"If-Match": None}, claims=OWNER_CLAIMS)).status == 204
    # When its stream records are read
    records = [DynamoDBRecord(r) for r in read_stream()["Records"]]
    # Then each record plans exactly what the write had to invalidate
    # (the enrollment wrote its own row in the Enrollments table, nothing in this one)
    assert [r.event_name.name for r in records if r.event_name] == ["INSERT", "MODIFY", "REMOVE"]
    plans = [plan_for_record(r) for r in records]
    assert all(p.item_ids == (course_id,) for p in plans)
    instructor, catalogue = ListNamespace("instructor", OWNER), ListNamespace("catalogue")
    web, data = ListNamespace("category", "web-development"), ListNamespace("category", "data-science")
    assert set(plans[0].namespaces) == {instructor, catalogue, web}
    assert set(plans[1].namespaces) == {instructor, catalogue, web, data}  # left one category, joined another
    assert set(plans[2].namespaces) == {instructor, catalogue, data}
    # and each leaves the version fence a fill from a lagging replica is checked against
    assert [dict(p.fences)[course_id] for p in plans] == ["1", "2", "gone"]


def test_backstop_invalidates_a_write_made_elsewhere(
    tables: dict[str, str], dynamodb: DynamoDBClient, with_redis: redis.Redis, function: Callable[[str], ModuleType],
    read_stream: Callable[[], dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEAR_CACHE_TTL_S", "0")
    batch_write(dynamodb, tables["COURSES_TABLE"], [course_item("c0001")])
    get_fn, list_fn = function("get_course"), function("list_courses")
    get_event = load_event("get_course", path_parameters={"course_id": "c0001"})
    list_event = load_event("list_courses", query={"category": "web-development"})
    # Given the item and its category page cached
    assert call(get_fn, get_event).headers["X-Cache"] == "MISS"
    assert [c["course_id"] for c in call(list_fn, list_event).body["items"]] == ["c0001"]
    # When something other than the API changes the row (a script, a migration, the console)
    dynamodb.update_item(
        TableName=tables["COURSES_TABLE"], Key={"course_id": {"S": "c0001"}},
        UpdateExpression="SET title = :t, category = :c, version = version + :one",
        ExpressionAttributeValues={":t": {"S": "Changed elsewhere"}, ":c": {"S": "data-science"}, ":one": {"N": "1"}},
    )
    stale = call(get_fn, get_event)
    assert (stale.headers["X-Cache"], stale.body["title"]) == ("HIT", "Modern Web Development")
    # Then the stream invalidator, fed the table's records, makes the next reads fresh
    response = invoke(function("stream_invalidator"), read_stream())
    assert response == {"batchItemFailures": []}
    fresh = call(get_fn, get_event)
    assert (fresh.headers["X-Cache"], fresh.body["title"]) == ("MISS", "Changed elsewhere")
    assert call(list_fn, list_event).body["items"] == []


def test_records_fail_for_retry_while_redis_is_down(
    tables: dict[str, str], dynamodb: DynamoDBClient, function: Callable[[str], ModuleType],
    read_stream: Callable[[], dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    batch_write(dynamodb, tables["COURSES_TABLE"], [course_item("c0001"), course_item("c0002")])
    event = read_stream()
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    # every record failed: Powertools fails the invocation, so Lambda retries the batch (bisecting it)
    with pytest.raises(BatchProcessingError) as failure:
        invoke(function("stream_invalidator"), event)
    assert len(failure.value.child_exceptions) == 2
    assert all(isinstance(e[1], InvalidationNotDelivered) for e in failure.value.child_exceptions)


def test_a_malformed_record_fails_alone(
    tables: dict[str, str], dynamodb: DynamoDBClient, with_redis: redis.Redis, function: Callable[[str], ModuleType],
    read_stream: Callable[[], dict[str, Any]],
) -> None:
    batch_write(dynamodb, tables["COURSES_TABLE"], [course_item("c0001")])
    event = read_stream()
    broken = {**event["Records"][0], "dynamodb": {**event["Records"][0]["dynamodb"], "Keys": {},
                                                   "SequenceNumber": "999"}}
    event["Records"].append(broken)
    response = invoke(function("stream_invalidator"), event)
    assert response == {"batchItemFailures": [{"itemIdentifier": "999"}]}


def test_the_sample_event_is_processed(
    tables: dict[str, str], with_redis: redis.Redis, function: Callable[[str], ModuleType]
) -> None:
    event = load_event("stream_invalidator")
    assert len(event["Records"]) == 6  # a course created, edited, deleted; a count's mark written
    assert invoke(function("stream_invalidator"), event) == {"batchItemFailures": []}


def test_enrollments_stream_bumps_the_users_list_made_elsewhere(
    tables: dict[str, str], dynamodb: Any, with_redis: redis.Redis, function: Callable[[str], ModuleType],
    moto_endpoint: MotoEndpoint,
) -> None:
    # Given a student's enrollment list cached
    batch_write(dynamodb, tables["COURSES_TABLE"], [course_item("c0001"), course_item("c0002")])
    batch_write(dynamodb, tables["ENROLLMENTS_TABLE"], [
        {"user_id": "student-0001", "course_id": "c0001", "enrolled_at": "2026-11-01T10:00:00.000000Z"}])
    mine = function("list_my_enrollments")
    event = load_event("list_my_enrollments", claims=claims_for("student-0001"))
    assert [i["course_id"] for i in call(mine, event).body["items"]] == ["c0001"]
    # When an enrollment is written by something other than the API
    batch_write(dynamodb, tables["ENROLLMENTS_TABLE"], [
        {"user_id": "student-0001", "course_id": "c0002", "enrolled_at": "2026-11-01T11:00:00.000000Z"}])
    assert [i["course_id"] for i in call(mine, event).body["items"]] == ["c0001"], "served from the cache"
    # Then the Enrollments stream's records bump that user's list
    records = stream_event(moto_endpoint, dynamodb, tables["ENROLLMENTS_TABLE"])
    assert plan_for_record(DynamoDBRecord(records["Records"][-1])).namespaces == (ListNamespace("me", "student-0001"),)
    assert invoke(function("stream_invalidator"), records) == {"batchItemFailures": []}
    assert [i["course_id"] for i in call(mine, event).body["items"]] == ["c0001", "c0002"]


def test_records_that_need_no_cache_change_succeed_while_redis_is_down(
    tables: dict[str, str], dynamodb: DynamoDBClient, function: Callable[[str], ModuleType],
    read_stream: Callable[[], dict[str, Any]], monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a course row and the enrollment counter's mark for it (nothing is cached under a mark)
    table = tables["COURSES_TABLE"]
    batch_write(dynamodb, table, [course_item("c0001")])
    dynamodb.update_item(
        TableName=table, Key={"course_id": {"S": mark_key("c0001", "shardId-0001")}},
        UpdateExpression="SET #s = :s, expires_at = :e", ExpressionAttributeNames={"#s": "sequence"},
        ExpressionAttributeValues={":s": {"S": "0" * 39 + "1"}, ":e": {"N": "1796457600"}},
    )
    event = read_stream()
    marks = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]
             if not is_course_key(r["dynamodb"]["Keys"]["course_id"]["S"])]
    assert marks
    # When Redis is unreachable
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    response = invoke(function("stream_invalidator"), event)
    # Then only the course row's record is retried: the mark's records are done
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    assert failed
    assert not failed & set(marks)
