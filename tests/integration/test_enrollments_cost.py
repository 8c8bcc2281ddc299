"""Read cost of GET /me/enrollments for 50 enrollments: GetItem per course vs one BatchGetItem."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from benchmarks.me_enrollments import ENROLLMENTS, measure, seed, table

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def test_batched_summaries_cost_two_calls_instead_of_fifty_one(
    tables: dict[str, str], dynamodb: DynamoDBClient, without_redis: None, function: Callable[[str], ModuleType],
    capsys: Any,
) -> None:
    seed(dynamodb, tables["COURSES_TABLE"], tables["ENROLLMENTS_TABLE"])
    results = measure(function("list_my_enrollments"), rounds=2)
    before, after = results["before: GetItem per enrollment"], results["after: one BatchGetItem"]
    assert before.calls == {"Query": 1, "GetItem": ENROLLMENTS}
    # the courses in one BatchGetItem, each row with its count
    assert after.calls == {"Query": 1, "BatchGetItem": 1}
    assert before.items_read == after.items_read == 2 * ENROLLMENTS
    with capsys.disabled():
        print("\n" + table(results))
