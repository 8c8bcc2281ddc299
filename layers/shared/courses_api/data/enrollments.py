"""The Enrollments table: one transaction per enrollment, and the two lists it is read by.

An enrollment and the course's ``enrollment_count`` change together in one
TransactWriteItems: Put the enrollment if it does not exist, and ADD 1 to the count if the
course is published. DynamoDB runs it atomically, so however many concurrent repeats
arrive, one commits and the rest are cancelled: the count moves exactly once. The
cancellation reasons say which condition failed (already enrolled, or course absent or
unpublished, each raised as its own exception for the service to answer);
``TransactionConflict`` (a concurrent transaction on the same items) is retried with
jittered backoff.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from courses_api.data.dynamo import (
    from_attributes,
    guarded,
    jittered_backoff,
    query_page,
    to_attributes,
    unavailable,
    values_of,
)
from courses_api.errors import DependencyUnavailable
from courses_api.models import Course, Enrollment, RosterEntry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

BY_COURSE = "ByCourse"  # GSI: course_id + enrolled_at, the roster of a course
TRANSACTION_ATTEMPTS = 4
# Positions of the two actions in the transaction, hence of their cancellation reasons.
_ENROLLMENT, _COURSE = 0, 1



@dataclass(frozen=True, slots=True)
class Cancellation:
    """Why DynamoDB cancelled the enrollment transaction."""

    already_enrolled: Enrollment | None
    course_refused: bool
    course: Course | None  # the course row when its condition failed (None: no such course)
    retryable: bool


def read_cancellation(error: ClientError) -> Cancellation:
    """Interpret ``CancellationReasons`` (one per action, in order) of a cancelled transaction."""
    reasons: Sequence[Mapping[str, Any]] = error.response.get("CancellationReasons") or []

    def reason(index: int) -> Mapping[str, Any]:
        return reasons[index] if index < len(reasons) else {}

    enrollment_reason, course_reason = reason(_ENROLLMENT), reason(_COURSE)
    existing = None
    if enrollment_reason.get("Code") == "ConditionalCheckFailed" and enrollment_reason.get("Item"):
        existing = Enrollment.model_validate(from_attributes(enrollment_reason["Item"]))
    course_refused = course_reason.get("Code") == "ConditionalCheckFailed"
    course = None
    if course_refused and course_reason.get("Item"):
        course = Course.model_validate(from_attributes(course_reason["Item"]))
    codes = {str(r.get("Code", "None")) for r in reasons}
    retryable = bool(codes - {"None", "ConditionalCheckFailed"})
    return Cancellation(
        already_enrolled=existing,
        course_refused=course_refused,
        course=course,
        retryable=retryable and existing is None and not course_refused,
    )


class EnrollmentAlreadyExists(Exception):
    """The enrollment exists (raised by the repository; not an error for the client)."""

    def __init__(self, enrollment: Enrollment) -> None:
        super().__init__("already enrolled")
        self.enrollment = enrollment


class CourseNotOpen(Exception):
    """The course is absent (``course`` is None) or not published."""

    def __init__(self, course: Course | None) -> None:
        super().__init__("course not open for enrollment")
        self.course = course


class EnrollmentRepository:
    """The Enrollments table (key ``user_id`` + ``course_id``, index ``ByCourse``)."""

    def __init__(self, client: DynamoDBClient, table_name: str, courses_table: str) -> None:
        self._client = client
        self.table_name = table_name
        self.courses_table = courses_table

    def enroll(self, enrollment: Enrollment) -> None:
        """Write the enrollment and count it, atomically; raises if it exists or the course is closed."""
        transaction: list[TransactWriteItemTypeDef] = [
            {"Put": {
                "TableName": self.table_name,
                "Item": to_attributes(enrollment.model_dump()),
                "ConditionExpression": "attribute_not_exists(user_id)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }},
            {"Update": {
                "TableName": self.courses_table,
                "Key": {"course_id": {"S": enrollment.course_id}},
                "UpdateExpression": "ADD enrollment_count :one",
                "ConditionExpression": "#status = :published",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": values_of(one=1, published="published"),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }},
        ]
        for attempt in range(TRANSACTION_ATTEMPTS):
            # The SDK resends the same token when it retries a timed-out attempt, so an attempt
            # that committed but whose response was lost is answered as a success, not as
            # "already enrolled". A cancelled attempt committed nothing: the next gets a new token.
            token = uuid.uuid4().hex
            try:
                self._client.transact_write_items(TransactItems=transaction, ClientRequestToken=token)
                return
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    raise unavailable(error) from error
                cancellation = read_cancellation(error)
            except BotoCoreError as error:
                raise unavailable(error) from error
            if cancellation.already_enrolled is not None:
                raise EnrollmentAlreadyExists(cancellation.already_enrolled)
            if cancellation.course_refused:
                raise CourseNotOpen(cancellation.course)
            if not cancellation.retryable or attempt == TRANSACTION_ATTEMPTS - 1:
                break
            jittered_backoff(attempt, base_s=0.02, cap_s=0.5)
        raise DependencyUnavailable("The enrollment could not be written because of contention; retry shortly.")

    def get(self, user_id: str, course_id: str) -> Enrollment | None:
        """One enrollment, strongly consistent."""
        response = guarded(lambda: self._client.get_item(
            TableName=self.table_name,
            Key={"user_id": {"S": user_id}, "course_id": {"S": course_id}},
            ConsistentRead=True,
            ReturnConsumedCapacity="TOTAL",
        ))
        item = response.get("Item")
        return Enrollment.model_validate(from_attributes(item)) if item else None

    def list_by_user(
        self, user_id: str, *, limit: int, start_key: dict[str, Any] | None
    ) -> tuple[list[Enrollment], dict[str, Any] | None]:
        """A user's enrollments (table Query, ordered by course id), strongly consistent (read your writes)."""
        items, next_key = query_page(
            self._client,
            limit=limit,
            start_key=start_key,
            TableName=self.table_name,
            KeyConditionExpression="user_id = :user",
            ExpressionAttributeValues=values_of(user=user_id),
            ConsistentRead=True,
        )
        return [Enrollment.model_validate(item) for item in items], next_key

    def list_by_course(
        self, course_id: str, *, limit: int, start_key: dict[str, Any] | None
    ) -> tuple[list[RosterEntry], dict[str, Any] | None]:
        """A course's roster through ``ByCourse``, oldest enrollment first."""
        items, next_key = query_page(
            self._client,
            limit=limit,
            start_key=start_key,
            TableName=self.table_name,
            IndexName=BY_COURSE,
            KeyConditionExpression="course_id = :course",
            ExpressionAttributeValues=values_of(course=course_id),
            ScanIndexForward=True,
        )
        return [RosterEntry.model_validate(item) for item in items], next_key
