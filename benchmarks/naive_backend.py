"""REFERENCE ONLY — the naive backend people start with. Never deployed, never used by the product.

This is the ``scan_baseline`` tier of the benchmark: the same tables, the same API Gateway
events and the same response bodies, written the way a first version often is:

* lists are a ``Scan`` of the whole table with a ``FilterExpression``, sorted in memory
  (a Scan has no order, so "newest first" means reading every page);
* ``GET /me/enrollments`` scans the enrollments table for the user, then issues one
  ``GetItem`` per enrollment to embed each course;
* no cache, no index, no projection; one module-level client; an if-chain for routing.

It exists so that "how much do indexes and caching save?" is answered against real code
on the same data, not against a guess. Read costs are metered by the benchmark harness,
which attaches :class:`benchmarks.metering.TableAwareMeter` to :func:`get_client`.
"""

from __future__ import annotations

import json
import os
from decimal import Decimal
from typing import Any

import boto3
from boto3.dynamodb.types import TypeDeserializer
from botocore.config import Config

_deserializer = TypeDeserializer()
_client: Any = None
DEFAULT_LIMIT = 20


def get_client() -> Any:
    """The module's one DynamoDB client (built on first use, reused afterwards)."""
    global _client  # noqa: PLW0603 - deliberately naive module state
    if _client is None:
        _client = boto3.client(
            "dynamodb",
            region_name=os.environ.get("AWS_REGION", "us-east-1"),
            endpoint_url=os.environ.get("DYNAMODB_ENDPOINT") or None,
            config=Config(retries={"mode": "standard", "max_attempts": 3}),
        )
    return _client


def reset() -> None:
    """Forget the client, as a new container would (the harness calls this before each run)."""
    global _client  # noqa: PLW0603 - deliberately naive module state
    _client = None


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set):
        return sorted(value)
    raise TypeError(type(value).__name__)


def _scan_all(
    table: str, filter_expression: str, names: dict[str, str], values: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every matching item of ``table``: reads the whole table, page by page."""
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "TableName": table,
        "FilterExpression": filter_expression,
        "ExpressionAttributeValues": values,
    }
    if names:
        request["ExpressionAttributeNames"] = names
    while True:
        response = get_client().scan(**request)
        items.extend(_plain(item) for item in response.get("Items", []))
        last = response.get("LastEvaluatedKey")
        if not last:
            return items
        request["ExclusiveStartKey"] = last


def get_course(course_id: str) -> dict[str, Any] | None:
    """One course by key (GetItem; the one thing the naive version gets right)."""
    response = get_client().get_item(TableName=os.environ["COURSES_TABLE"], Key={"course_id": {"S": course_id}})
    item = response.get("Item")
    return _plain(item) if item else None


def list_courses(category: str | None, level: str | None, limit: int) -> list[dict[str, Any]]:
    """Published courses, newest first: Scan + filter, then sort in memory."""
    conditions = ["#status = :published"]
    names = {"#status": "status"}
    values: dict[str, Any] = {":published": {"S": "published"}}
    if category:
        conditions.append("category = :category")
        values[":category"] = {"S": category}
    if level:
        conditions.append("#level = :level")
        names["#level"] = "level"
        values[":level"] = {"S": level}
    found = _scan_all(os.environ["COURSES_TABLE"], " AND ".join(conditions), names, values)
    found.sort(key=lambda c: c.get("published_at", ""), reverse=True)
    return found[:limit]


def list_instructor_courses(instructor_id: str, limit: int) -> list[dict[str, Any]]:
    """An instructor's published courses, newest first: Scan + filter + sort."""
    found = _scan_all(
        os.environ["COURSES_TABLE"],
        "instructor_id = :instructor AND #status = :published",
        {"#status": "status"},
        {":instructor": {"S": instructor_id}, ":published": {"S": "published"}},
    )
    found.sort(key=lambda c: c["created_at"], reverse=True)
    return found[:limit]


def list_my_enrollments(user_id: str, limit: int) -> list[dict[str, Any]]:
    """The user's enrollments (Scan + filter), each course fetched with its own GetItem."""
    enrollments = _scan_all(os.environ["ENROLLMENTS_TABLE"], "user_id = :user", {}, {":user": {"S": user_id}})
    enrollments.sort(key=lambda e: e["enrolled_at"], reverse=True)
    result = []
    for enrollment in enrollments[:limit]:
        result.append({
            "course_id": enrollment["course_id"],
            "enrolled_at": enrollment["enrolled_at"],
            "course": get_course(enrollment["course_id"]),
        })
    return result


def _response(status: int, body: Any) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body, default=_json_default),
    }


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Route on the API Gateway resource with an if-chain (the naive way)."""
    resource = event.get("resource")
    path = event.get("pathParameters") or {}
    query = event.get("queryStringParameters") or {}
    limit = int(query.get("limit") or DEFAULT_LIMIT)
    if resource == "/courses/{course_id}":
        course = get_course(path["course_id"])
        if course is None or course.get("status") != "published":
            return _response(404, {"title": "Not Found", "status": 404})
        return _response(200, course)
    if resource == "/courses":
        return _response(200, {"items": list_courses(query.get("category"), query.get("level"), limit),
                               "next_cursor": None})
    if resource == "/instructors/{instructor_id}/courses":
        return _response(200, {"items": list_instructor_courses(path["instructor_id"], limit), "next_cursor": None})
    if resource == "/me/enrollments":
        claims = (event.get("requestContext", {}).get("authorizer") or {}).get("claims") or {}
        if not claims.get("sub"):
            return _response(401, {"title": "Unauthorized", "status": 401})
        return _response(200, {"items": list_my_enrollments(claims["sub"], limit), "next_cursor": None})
    return _response(404, {"title": "Not Found", "status": 404})
