"""Repositories: the only code that knows table names, key shapes and index names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from courses_api.dynamo import (
    BY_CATEGORY,
    BY_INSTRUCTOR,
    BY_STATUS,
    batch_get,
    from_attributes,
    guarded,
    query_page,
    values_of,
)
from courses_api.models import Course, CourseSummary

# What a list shows: exactly the non-key attributes the list indexes project (INCLUDE).
SUMMARY_ATTRIBUTES: tuple[str, ...] = tuple(CourseSummary.model_fields)


class CourseRepository:
    """Courses table and its three indexes."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self.table_name = table_name

    def get(self, course_id: str) -> Course | None:
        """One course, strongly consistent: what is cached must not predate a committed write."""
        response = guarded(lambda: self._client.get_item(
            TableName=self.table_name,
            Key={"course_id": {"S": course_id}},
            ConsistentRead=True,
            ReturnConsumedCapacity="TOTAL",
        ))
        item = response.get("Item")
        return Course.model_validate(from_attributes(item)) if item else None

    def list_published(
        self,
        *,
        category: str | None,
        level: str | None,
        limit: int,
        start_key: dict[str, Any] | None,
    ) -> tuple[list[CourseSummary], dict[str, Any] | None]:
        """Published courses, newest first: ``ByCategory`` for a category, else ``ByStatus``."""
        query: dict[str, Any] = {"TableName": self.table_name, "ScanIndexForward": False}
        names: dict[str, str] = {}
        if category is not None:
            query["IndexName"] = BY_CATEGORY
            query["KeyConditionExpression"] = "category = :partition"
            values = values_of(partition=category)
        else:
            query["IndexName"] = BY_STATUS
            query["KeyConditionExpression"] = "#status = :partition"
            names["#status"] = "status"
            values = values_of(partition="published")
        if level is not None:
            query["FilterExpression"] = "#level = :level"
            names["#level"] = "level"
            values.update(values_of(level=level))
        query["ExpressionAttributeValues"] = values
        if names:
            query["ExpressionAttributeNames"] = names
        items, next_key = query_page(self._client, limit=limit, start_key=start_key, **query)
        return [CourseSummary.model_validate(item) for item in items], next_key

    def list_by_instructor(
        self,
        instructor_id: str,
        *,
        include_unpublished: bool,
        limit: int,
        start_key: dict[str, Any] | None,
    ) -> tuple[list[CourseSummary], dict[str, Any] | None]:
        """An instructor's courses, newest first, through ``ByInstructor``."""
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": BY_INSTRUCTOR,
            "ScanIndexForward": False,
            "KeyConditionExpression": "instructor_id = :partition",
            "ExpressionAttributeValues": values_of(partition=instructor_id),
        }
        if not include_unpublished:
            query["FilterExpression"] = "#status = :published"
            query["ExpressionAttributeNames"] = {"#status": "status"}
            query["ExpressionAttributeValues"].update(values_of(published="published"))
        items, next_key = query_page(self._client, limit=limit, start_key=start_key, **query)
        return [CourseSummary.model_validate(item) for item in items], next_key

    def get_summaries(self, course_ids: Sequence[str]) -> dict[str, CourseSummary]:
        """Summaries of many courses in BatchGetItem calls of 100 (never one GetItem each)."""
        items = batch_get(
            self._client,
            self.table_name,
            [{"course_id": course_id} for course_id in course_ids],
            projection=SUMMARY_ATTRIBUTES,
        )
        summaries = (CourseSummary.model_validate(item) for item in items)
        return {summary.course_id: summary for summary in summaries}
