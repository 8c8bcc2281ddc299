"""The Enrollments table: one transaction per enrollment, and the two lists it is read by.

An enrollment and its course's count change together in one TransactWriteItems: Put the
enrollment if it does not exist, and ADD 1 to one of the course's count shards (picked
from the user id, see :mod:`courses_api.data.enrollment_shards`). DynamoDB runs it
atomically, so however many concurrent repeats arrive, one commits and the rest are
cancelled: the count moves exactly once. Neither write touches the course row or a list
index, so a launch spreads over the shards instead of queueing on one item. The
cancellation reason says whether the enrollment already existed (raised as its own
exception for the service to answer); ``TransactionConflict`` (a concurrent transaction on
the same shard) is retried with jittered backoff.

The roster reads ``ByCourse``, whose partition key is the row's ``course_shard``: one page
merges the course's shards in (enrollment time, user id) order.
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
from courses_api.data.enrollment_shards import (
    COUNT_ATTRIBUTE,
    COUNT_SHARDS,
    count_shard_key,
    enrollment_row,
    roster_partition,
    shard_of,
)
from courses_api.errors import DependencyUnavailable
from courses_api.models import Enrollment, RosterEntry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

BY_COURSE = "ByCourse"  # GSI: course_shard + enrolled_at, the roster of a course in COUNT_SHARDS partitions
TRANSACTION_ATTEMPTS = 4
# Position of the enrollment's Put in the transaction, hence of its cancellation reason.
_ENROLLMENT = 0


@dataclass(frozen=True, slots=True)
class Cancellation:
    """Why DynamoDB cancelled the enrollment transaction."""

    already_enrolled: Enrollment | None
    retryable: bool


def read_cancellation(error: ClientError) -> Cancellation:
    """Interpret ``CancellationReasons`` (one per action, in order) of a cancelled transaction."""
    reasons: Sequence[Mapping[str, Any]] = error.response.get("CancellationReasons") or []
    enrollment_reason: Mapping[str, Any] = reasons[_ENROLLMENT] if reasons else {}
    existing = None
    if enrollment_reason.get("Code") == "ConditionalCheckFailed" and enrollment_reason.get("Item"):
        existing = Enrollment.model_validate(from_attributes(enrollment_reason["Item"]))
    codes = {str(r.get("Code", "None")) for r in reasons}
    retryable = bool(codes - {"None", "ConditionalCheckFailed"})
    return Cancellation(already_enrolled=existing, retryable=retryable and existing is None)


class EnrollmentAlreadyExists(Exception):
    """The enrollment exists (raised by the repository; not an error for the client)."""

    def __init__(self, enrollment: Enrollment) -> None:
        super().__init__("already enrolled")
        self.enrollment = enrollment


def enrollment_transaction(
    enrollment: Enrollment, *, enrollments_table: str, courses_table: str, shards: int = COUNT_SHARDS
) -> list[TransactWriteItemTypeDef]:
    """The two writes of one enrollment: the row (if new) and +1 on the user's count shard."""
    shard = shard_of(enrollment.user_id, shards)
    row = enrollment_row(enrollment.user_id, enrollment.course_id, enrollment.enrolled_at, shards)
    return [
        {"Put": {
            "TableName": enrollments_table,
            "Item": to_attributes(row),
            "ConditionExpression": "attribute_not_exists(user_id)",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }},
        {"Update": {
            "TableName": courses_table,
            "Key": {"course_id": {"S": count_shard_key(enrollment.course_id, shard)}},
            "UpdateExpression": "ADD #count :one",
            "ExpressionAttributeNames": {"#count": COUNT_ATTRIBUTE},
            "ExpressionAttributeValues": values_of(one=1),
        }},
    ]


class EnrollmentRepository:
    """The Enrollments table (key ``user_id`` + ``course_id``, index ``ByCourse`` on ``course_shard``)."""

    def __init__(self, client: DynamoDBClient, table_name: str, courses_table: str, shards: int = COUNT_SHARDS) -> None:
        self._client = client
        self.table_name = table_name
        self.courses_table = courses_table
        self.shards = shards

    def transaction(self, enrollment: Enrollment) -> list[TransactWriteItemTypeDef]:
        """The TransactWriteItems actions of one enrollment, the enrollment's Put first."""
        return enrollment_transaction(
            enrollment, enrollments_table=self.table_name, courses_table=self.courses_table, shards=self.shards
        )

    def enroll(self, enrollment: Enrollment) -> None:
        """Write the enrollment and count it, atomically; raises if it exists already."""
        transaction = self.transaction(enrollment)
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
        self, user_id: str, *, limit: int, start_key: dict[str, Any] | None, consistent: bool = True
    ) -> tuple[list[Enrollment], dict[str, Any] | None]:
        """A user's enrollments (table Query, ordered by course id).

        Strongly consistent unless asked otherwise (read your writes); the cache reads
        eventually consistently, at half the read units, only where no fence stands.
        """
        items, next_key = query_page(
            self._client,
            limit=limit,
            start_key=start_key,
            TableName=self.table_name,
            KeyConditionExpression="user_id = :user",
            ExpressionAttributeValues=values_of(user=user_id),
            ConsistentRead=consistent,
        )
        return [Enrollment.model_validate(item) for item in items], next_key

    def list_by_course(
        self, course_id: str, *, limit: int, after: RosterPosition | None
    ) -> tuple[list[RosterEntry], RosterPosition | None]:
        """A course's roster, oldest enrollment first (ties by user id), merged from its ``ByCourse`` shards.

        Each shard is read past ``after`` (one Query per shard, usually) until it holds
        ``limit`` entries and every entry tied with its last one; the union is sorted and
        the first ``limit`` entries returned with the position of the last, from which the
        next page resumes. No entry is skipped: a shard's unread entries all come after
        its ``limit``-th, so after every entry of this page.
        """
        reads = [self._read_shard(roster_partition(course_id, shard), limit, after) for shard in range(self.shards)]
        merged = sorted((entry for entries, _ in reads for entry in entries), key=roster_position)
        page = merged[:limit]
        more = len(merged) > limit or any(unread for _, unread in reads)
        return page, (roster_position(page[-1]) if page and more else None)

    def _read_shard(
        self, partition: str, limit: int, after: RosterPosition | None
    ) -> tuple[list[RosterEntry], bool]:
        """Entries of one roster shard past ``after``: at least ``limit`` (and all tied with the
        ``limit``-th) unless the shard ends first; and whether entries remain unread."""
        condition = "course_shard = :partition"
        values: dict[str, Any] = {"partition": partition}
        if after is not None:
            condition += " AND enrolled_at >= :after"
            values["after"] = after[0]
        entries: list[RosterEntry] = []
        start_key: dict[str, Any] | None = None
        while True:
            items, start_key = query_page(
                self._client,
                limit=limit + 1,
                start_key=start_key,
                TableName=self.table_name,
                IndexName=BY_COURSE,
                KeyConditionExpression=condition,
                ExpressionAttributeValues=values_of(**values),
                ScanIndexForward=True,
            )
            read = (RosterEntry.model_validate(item) for item in items)
            entries += [e for e in read if after is None or roster_position(e) > after]
            if start_key is None:
                return entries, False
            if len(entries) > limit and entries[-1].enrolled_at > entries[limit - 1].enrolled_at:
                return entries, True


RosterPosition = tuple[str, str]


def roster_position(entry: RosterEntry) -> RosterPosition:
    """Where an entry sits in a roster: enrollment time, then user id."""
    return (entry.enrolled_at, entry.user_id)
