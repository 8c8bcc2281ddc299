"""The Courses table: the only code that knows its key shape and its indexes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from courses_api.data.dynamo import (
    batch_get,
    from_attributes,
    guarded,
    query_page,
    to_attributes,
    values_of,
    wire,
)
from courses_api.data.enrollment_counts import count_of_row
from courses_api.models import Course, CourseSummary

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The table's global secondary indexes (see template.yaml), each sorted newest first.
BY_CATEGORY = "ByCategory"  # category + published_at: one category's published courses
BY_INSTRUCTOR = "ByInstructor"  # instructor_id + created_at: an instructor's courses
BY_STATUS = "ByStatus"  # status + published_at: the published catalogue
# Each index's key attributes and the table's: what a key to resume a Query after an item holds.
INDEX_KEYS = {
    BY_CATEGORY: ("category", "published_at", "course_id"),
    BY_INSTRUCTOR: ("instructor_id", "created_at", "course_id"),
    BY_STATUS: ("status", "published_at", "course_id"),
}

# What a list shows of a course (read from the course's item, not from an index).
SUMMARY_ATTRIBUTES: tuple[str, ...] = tuple(CourseSummary.model_fields)


def course_from_row(row: Mapping[str, Any]) -> Course:
    """A course as stored (``enrollment_count`` is 0 until the counter first writes it)."""
    return Course.model_validate({**row, "enrollment_count": count_of_row(row)})


class CourseRepository:
    """Courses table and its three indexes."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self.table_name = table_name

    def get(self, course_id: str, *, consistent: bool = True) -> Course | None:
        """One course, strongly consistent unless asked otherwise (half the read units).

        The cache fills from an eventually consistent read only behind a version fence.
        """
        response = guarded(lambda: self._client.get_item(
            TableName=self.table_name,
            Key={"course_id": {"S": course_id}},
            ConsistentRead=consistent,
            ReturnConsumedCapacity="TOTAL",
        ))
        item = response.get("Item")
        return course_from_row(from_attributes(item)) if item else None

    def list_published(
        self,
        *,
        category: str | None,
        level: str | None,
        limit: int,
        start_key: dict[str, Any] | None,
    ) -> tuple[list[str], dict[str, Any] | None]:
        """Ids of published courses, newest first: ``ByCategory`` for a category, else ``ByStatus``.

        The indexes hold keys and the filtered attribute only: the courses themselves come
        from the item cache, so a page read costs the index entries (about 100 bytes each).
        """
        where = None if level is None else ("level", level)
        if category is not None:
            return self._ids(BY_CATEGORY, ("category", category), where, limit=limit, start_key=start_key)
        return self._ids(BY_STATUS, ("status", "published"), where, limit=limit, start_key=start_key)

    def list_by_instructor(
        self,
        instructor_id: str,
        *,
        include_unpublished: bool,
        limit: int,
        start_key: dict[str, Any] | None,
    ) -> tuple[list[str], dict[str, Any] | None]:
        """Ids of an instructor's courses, newest first, through ``ByInstructor``."""
        where = None if include_unpublished else ("status", "published")
        return self._ids(BY_INSTRUCTOR, ("instructor_id", instructor_id), where, limit=limit, start_key=start_key)

    def _ids(
        self,
        index: str,
        partition: tuple[str, Any],
        where: tuple[str, Any] | None,
        *,
        limit: int,
        start_key: dict[str, Any] | None,
    ) -> tuple[list[str], dict[str, Any] | None]:
        """Course ids of one partition of ``index``, newest first; ``where`` (attribute, value) filters them."""
        names, values = {"#p": partition[0]}, values_of(p=partition[1])
        query: dict[str, Any] = {"KeyConditionExpression": "#p = :p"}
        if where is not None:
            names["#f"], query["FilterExpression"] = where[0], "#f = :f"
            values.update(values_of(f=where[1]))
        items, next_key = query_page(
            self._client,
            limit=limit,
            start_key=start_key,
            key_names=INDEX_KEYS[index],
            TableName=self.table_name,
            IndexName=index,
            ScanIndexForward=False,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            **query,
        )
        return [str(item["course_id"]) for item in items], next_key

    def get_many(self, course_ids: Sequence[str], *, consistent: bool) -> dict[str, Course]:
        """Whole courses in BatchGetItem calls of 100; absent ids are left out.

        ``consistent``: strongly consistent, for rows that go into the item cache (which
        must not hold a row older than a committed write, as ``get`` guarantees).
        """
        items = batch_get(
            self._client, self.table_name, [{"course_id": course_id} for course_id in course_ids], consistent=consistent
        )
        courses = (course_from_row(item) for item in items)
        return {course.course_id: course for course in courses}

    # ----- writes (the write path; every one conditional, so no write is ever lost) -----

    def put_new(self, course: Course) -> None:
        """Insert a new course; never overwrites (``attribute_not_exists``)."""
        try:
            guarded(lambda: self._client.put_item(
                TableName=self.table_name,
                Item=to_attributes(course.model_dump()),
                ConditionExpression="attribute_not_exists(course_id)",
            ))
        except ClientError as error:
            raise ConditionFailed(current_of(error)) from error

    def update_if_version(
        self,
        course_id: str,
        *,
        changes: Mapping[str, Any],
        expected_version: int,
        now: str,
        owner_id: str | None,
    ) -> Course:
        """Apply ``changes`` if the row is still at ``expected_version`` (and owned by ``owner_id``).

        One conditional UpdateItem: ``version`` +1, ``updated_at``, and ``published_at`` set
        on publishing / removed on leaving ``published``. Returns the *old* row (ALL_OLD is
        atomic with the write, so invalidation sees exactly what was replaced); raises
        :class:`ConditionFailed` with the current row when the condition is false.
        """
        request = patch_update_request(changes, expected_version=expected_version, now=now, owner_id=owner_id)
        return self._conditional_write(self._client.update_item, course_id, request)

    def delete_if(self, course_id: str, *, expected_version: int | None, owner_id: str | None) -> Course:
        """Delete the course if it exists (at ``expected_version``, owned by ``owner_id`` when given).

        Returns the deleted row; raises :class:`ConditionFailed` with the current row otherwise.
        """
        conditions, names, values = write_guard(expected_version, owner_id)
        request: dict[str, Any] = {"ConditionExpression": " AND ".join(["attribute_exists(course_id)", *conditions])}
        if conditions:
            request.update(ExpressionAttributeNames=names, ExpressionAttributeValues=values)
        return self._conditional_write(self._client.delete_item, course_id, request)

    def _conditional_write(self, operation: Any, course_id: str, request: dict[str, Any]) -> Course:
        """Run a conditional UpdateItem/DeleteItem; the old row, or ConditionFailed with the current one.

        ``ALL_OLD`` is atomic with the write, so invalidation sees exactly what was replaced.
        """
        try:
            response = guarded(lambda: operation(
                TableName=self.table_name,
                Key={"course_id": {"S": course_id}},
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **request,
            ))
        except ClientError as error:
            raise ConditionFailed(current_of(error)) from error
        return course_from_row(from_attributes(response["Attributes"]))


class ConditionFailed(Exception):
    """A conditional write was refused; ``current`` is the row as it is now (``None``: absent)."""

    def __init__(self, current: Course | None) -> None:
        super().__init__("condition failed")
        self.current = current


def current_of(error: ClientError) -> Course | None:
    """The row DynamoDB returned with a failed condition (ReturnValuesOnConditionCheckFailure)."""
    item: Any = error.response.get("Item")
    return course_from_row(from_attributes(item)) if isinstance(item, dict) and item else None


# Fields a PATCH may change; everything else is server-maintained.
PATCHABLE = ("title", "description", "category", "level", "price", "tags", "status", "launch")


def write_guard(expected_version: int | None, owner_id: str | None) -> tuple[list[str], dict[str, str], dict[str, Any]]:
    """Conditions, names and values that hold a write to the row at ``expected_version`` and owned by
    ``owner_id`` (each only when given)."""
    conditions: list[str] = []
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, placeholder, value in (("version", "expected", expected_version), ("instructor_id", "owner", owner_id)):
        if value is not None:
            conditions.append(f"#{name} = :{placeholder}")
            names[f"#{name}"], values[f":{placeholder}"] = name, wire(value)
    return conditions, names, values


def patch_update_request(
    changes: Mapping[str, Any], *, expected_version: int, now: str, owner_id: str | None
) -> dict[str, Any]:
    """The UpdateItem expressions of a PATCH (pure, so it is unit-tested without DynamoDB)."""
    unknown = set(changes) - set(PATCHABLE)
    if unknown:
        raise ValueError(f"not patchable: {sorted(unknown)}")
    conditions, names, values = write_guard(expected_version, owner_id)
    names |= {"#updated_at": "updated_at"}
    values |= values_of(next=expected_version + 1, now=now)
    sets = ["#version = :next", "#updated_at = :now"]
    removes: list[str] = []
    for index, (name, value) in enumerate(sorted(changes.items())):
        names[f"#f{index}"], values[f":f{index}"] = name, wire(value)
        sets.append(f"#f{index} = :f{index}")
    status = changes.get("status")
    if status is not None:
        names["#published_at"] = "published_at"
        if status == "published":
            sets.append("#published_at = if_not_exists(#published_at, :now)")
        else:
            removes.append("#published_at")
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    return {
        "UpdateExpression": expression,
        "ConditionExpression": " AND ".join(conditions),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }
