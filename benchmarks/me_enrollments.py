"""``GET /me/enrollments`` for 50 enrollments: one GetItem per course (before) vs one BatchGetItem (after).

    python -m benchmarks.me_enrollments          # starts moto, seeds, measures, prints a table

Both variants run the same Query of the Enrollments table through the same metered client
of the real ``list_my_enrollments`` function; "before" then reads each course with its own
GetItem (eventually consistent, the same consistency the batch uses, so the comparison is
fair), "after" is the function itself (one BatchGetItem per 100 ids). Read units are the
capacity meter's computed figures (DynamoDB's sizing rules), not moto's fake numbers.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
for _path in (str(REPO_ROOT / "layers" / "shared"), str(REPO_ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

ENROLLMENTS = 50
USER = "student-bench"


@dataclass
class Measurement:
    """Per request: DynamoDB calls by operation, computed read units, items read, median latency."""

    calls: dict[str, int]
    total_calls: int
    read_units: float
    items_read: int
    median_ms: float


def seed(client: Any, courses_table: str, enrollments_table: str, count: int = ENROLLMENTS) -> None:
    """``count`` published courses (realistic descriptions) and one enrollment in each for USER."""
    from courses_api.data.dynamo import batch_write
    from tests.support.data import course_item

    rows = [course_item(f"bench{i:04d}", description="An hour of practice. " * 40) for i in range(count)]
    batch_write(client, courses_table, rows)
    batch_write(client, enrollments_table, [
        {"user_id": USER, "course_id": r["course_id"], "enrolled_at": f"2026-11-01T10:{i % 60:02d}:00.000000Z"}
        for i, r in enumerate(rows)
    ])


def naive_page(module: ModuleType, user_id: str, limit: int) -> list[dict[str, Any]]:
    """The "before" variant: the same Query, then one GetItem per enrollment."""
    from courses_api.data.courses import SUMMARY_ATTRIBUTES
    from courses_api.data.dynamo import from_attributes

    container = module.container
    enrollments, _ = container.enrollment_repository.list_by_user(user_id, limit=limit, start_key=None)
    names = {f"#p{i}": name for i, name in enumerate(SUMMARY_ATTRIBUTES)}
    items = []
    for enrollment in enrollments:
        response = container.dynamodb.get_item(
            TableName=container.settings.courses_table, Key={"course_id": {"S": enrollment.course_id}},
            ProjectionExpression=", ".join(names), ExpressionAttributeNames=names,
            ReturnConsumedCapacity="TOTAL",
        )
        course = from_attributes(response["Item"]) if "Item" in response else None
        items.append({"course_id": enrollment.course_id, "enrolled_at": enrollment.enrolled_at, "course": course})
    return items


def measure(module: ModuleType, *, rounds: int = 5) -> dict[str, Measurement]:
    """Run both variants ``rounds`` times on a loaded ``list_my_enrollments`` module."""
    from courses_api.data.capacity import CapacityMeter
    from local.invoke import invoke
    from tests.support.events import claims_for, load_event

    event = load_event("list_my_enrollments", claims=claims_for(USER), query={"limit": "100"})

    def batched() -> int:
        response = invoke(module, json.loads(json.dumps(event)))
        assert response["statusCode"] == 200, response
        return len(json.loads(response["body"])["items"])

    def naive() -> int:
        return len(naive_page(module, USER, 100))

    results: dict[str, Measurement] = {}
    for name, run in (("before: GetItem per enrollment", naive), ("after: one BatchGetItem", batched)):
        timings, cost = [], None
        for _ in range(rounds):
            CapacityMeter.begin_request()  # the handler starts its own; current() is the last request's
            started = time.perf_counter()
            assert run() == ENROLLMENTS
            timings.append((time.perf_counter() - started) * 1000)
            cost = CapacityMeter.current()
        assert cost is not None
        results[name] = Measurement(dict(cost.calls), cost.total_calls, cost.computed_rcu, cost.items_read,
                                    round(statistics.median(timings), 2))
    return results


def table(results: dict[str, Measurement]) -> str:
    lines = ["| variant | DynamoDB calls | read units | items read | median ms (moto, local) |",
             "|---|---|---|---|---|"]
    for name, m in results.items():
        calls = ", ".join(f"{count} {op}" for op, count in m.calls.items())
        lines.append(f"| {name} | {m.total_calls} ({calls}) | {m.read_units:g} | {m.items_read} | {m.median_ms} |")
    return "\n".join(lines)


def main() -> None:
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "CoursesApi")
    os.environ["REDIS_URL"] = ""
    from benchmarks import metering
    from local.aws import create_tables, dynamodb_client, start_moto
    from local.invoke import load_function

    metering.install()  # moto's ConsumedCapacity is fake: size the items read
    endpoint = start_moto()
    try:
        names = create_tables(endpoint.url, prefix="bench-")
        seed(dynamodb_client(endpoint.url), names["COURSES_TABLE"], names["ENROLLMENTS_TABLE"])
        results = measure(load_function("list_my_enrollments"))
        print(table(results))
        print(json.dumps({k: asdict(v) for k, v in results.items()}, indent=2))
    finally:
        endpoint.stop()


if __name__ == "__main__":
    main()
