"""A page that was right when filled keeps serving through a DynamoDB outage, even after the
stream delivers the write it already reflects (each write bumps a list once, not twice).

DynamoDB's outage is a listener that accepts connections and never answers (the function's
reads time out, as against a frozen endpoint); Redis, moto and the functions are real.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING

import pytest
import redis

from courses_api.data.dynamo import batch_write
from tests.integration.cache.conftest import advance_redis
from tests.support.data import course_item
from tests.support.events import claims_for, load_event
from tests.support.functions import call
from tests.support.services import MotoEndpoint
from tests.support.streams import StreamReader, settle

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

OWNER = "instructor-0001"
FENCE_S = 2.5  # longer than the namespace fence (CACHE_FENCE_TTL_MS, 2 s)


@pytest.fixture
def frozen_dynamodb() -> Iterator[str]:
    """An endpoint that takes connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_a_page_filled_after_a_write_is_served_through_an_outage_after_the_stream_delivers_it(
    tables: dict[str, str], dynamodb: DynamoDBClient, moto_endpoint: MotoEndpoint, with_redis: redis.Redis,
    function: Callable[[str], ModuleType], frozen_dynamodb: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = [course_item(f"out{i:04d}", published_at=f"2026-11-01T10:{i:02d}:00.000000Z") for i in range(6)]
    rows.append(course_item("mover", category="data-science", instructor_id=OWNER))
    batch_write(dynamodb, tables["COURSES_TABLE"], rows)
    stream = StreamReader(moto_endpoint.url, dynamodb, tables["COURSES_TABLE"])
    stream.new_records()  # the seeding is not under test
    # Given a write that moves a course into the category (it bumps the category's list)
    moved = call(function("update_course"), load_event(
        "update_course", path_parameters={"course_id": "mover"}, headers={"If-Match": 'W/"1.0"'},
        claims=claims_for(OWNER, "instructors"), body={"category": "web-development"}))
    assert moved.status == 200
    advance_redis(with_redis, FENCE_S)
    # And the category's page read three times after it (filled once, then hits)
    reader = function("list_courses")
    event = load_event("list_courses", query={"category": "web-development", "limit": "10"})
    outcomes = [call(reader, event).headers["X-Cache"] for _ in range(3)]
    assert outcomes == ["MISS", "HIT", "HIT"]
    assert "mover" in [item["course_id"] for item in call(reader, event).body["items"]]
    # When the stream delivers that write, and then DynamoDB stops answering
    assert settle(function("stream_invalidator"), stream) >= 1
    for name, value in {"DYNAMODB_ENDPOINT": frozen_dynamodb, "DYNAMODB_CONNECT_TIMEOUT_S": "0.2",
                        "DYNAMODB_READ_TIMEOUT_S": "0.2", "DYNAMODB_MAX_ATTEMPTS": "1"}.items():
        monkeypatch.setenv(name, value)
    cut_off = function("list_courses")  # another container: nothing in its near cache
    # Then the page is still served, from Redis (it answered 504 when the stream bumped it again)
    result = call(cut_off, event)
    assert (result.status, result.headers.get("X-Cache")) == (200, "HIT")
    assert "mover" in [item["course_id"] for item in result.body["items"]]
