"""Enrollment counts on course rows, written from the Enrollments stream exactly once.

The enrollment counter sums each course's new rows per stream shard and window
(:mod:`courses_api.domain.enrollment_counting`) and applies each sum here in one
``TransactWriteItems``: the course's *mark* for that stream shard (a Courses item keyed
``<course_id>#mark#<digest of the shard id>``) is set to the window's last sequence number
if it is below the window's first, and the course row gets ``ADD enrollment_count`` if it
exists. A window delivered again (a retry, a mapping recreated at ``TRIM_HORIZON``) finds
its mark past it and adds nothing; nothing is overwritten, so a count never moves back,
and a deleted course is never recreated. Marks live outside the course row, so its
``GetItem`` reads the same small item however many shards counted it; each expires
(``expires_at``, TTL) 48 h after its last record, when no record of that shard can be
delivered again (streams keep records 24 h).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from courses_api.data.dynamo import jittered_backoff, unavailable, values_of
from courses_api.errors import DependencyUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from courses_api.data.enrollments import EnrollmentRepository

COUNT_ATTRIBUTE = "enrollment_count"
MARK_SEPARATOR = "#mark#"
SEQUENCE_ATTRIBUTE = "sequence"
EXPIRES_ATTRIBUTE = "expires_at"  # the Courses table's TTL attribute (template.yaml)
MARK_LIFETIME_S = 48 * 3600  # streams keep a record 24 h: no record older than that is delivered again
SEQUENCE_DIGITS = 40  # DynamoDB Streams sequence numbers have 21 to 40 digits: padded, they compare as strings
TRANSACTION_ATTEMPTS = 5
_MARK, _COURSE = 0, 1  # positions in the transaction, hence of its cancellation reasons


def mark_key(course_id: str, stream_shard: str) -> str:
    """The Courses-table key of a course's mark for one stream shard (course ids never contain ``#``)."""
    digest = hashlib.blake2b(stream_shard.encode(), digest_size=8).hexdigest()
    return f"{course_id}{MARK_SEPARATOR}{digest}"


def is_course_key(key: str) -> bool:
    """Whether a Courses-table key is a course (marks, and older releases' count shards, hold ``#``)."""
    return "#" not in key


def padded(sequence: int) -> str:
    """A sequence number as stored in a mark: zero-padded, so string order is number order."""
    return f"{sequence:0{SEQUENCE_DIGITS}d}"


def count_of_row(row: Mapping[str, Any]) -> int:
    """A course row's enrollment count (0 before the first one is counted)."""
    value = row.get(COUNT_ATTRIBUTE)
    return int(value) if isinstance(value, int | Decimal | float) and not isinstance(value, bool) else 0


@dataclass(frozen=True, slots=True)
class WindowSum:
    """What one window of one stream shard adds to one course: the sum and the records' span."""

    delta: int
    first: int  # sequence number of the first record counted
    last: int  # sequence number of the last record counted
    last_time: int  # its ApproximateCreationDateTime (epoch seconds)


class Applied(Enum):
    """What applying a window sum did."""

    COUNTED = "counted"
    ALREADY = "already"  # the mark is past the window: a replay
    GONE = "gone"  # the course row does not exist (deleted): nothing written
    OVERLAP = "overlap"  # the mark falls inside the window: part was counted (recount the course)


class CountWriter:
    """Applies window sums to course rows, guarded by the stream shard's mark (see the module)."""

    def __init__(self, client: DynamoDBClient, courses_table: str) -> None:
        self._client = client
        self.courses_table = courses_table

    def transaction(self, course_id: str, stream_shard: str, window: WindowSum) -> list[Any]:
        """The two updates of one window sum: the mark (if below the window), the count (if the row exists)."""
        return [self._mark(course_id, stream_shard, window, conditional=True),
                self._count(course_id, "ADD #count :value", window.delta)]

    def apply(self, course_id: str, stream_shard: str, window: WindowSum) -> Applied:
        """Add the window's sum to the course's count unless its mark says it was added already."""
        actions = self.transaction(course_id, stream_shard, window)
        for attempt in range(TRANSACTION_ATTEMPTS):
            reasons = self._cancelled(actions)
            if reasons is None:
                return Applied.COUNTED
            codes = [str(reason.get("Code", "None")) for reason in reasons]
            if len(codes) > _COURSE and codes[_COURSE] == "ConditionalCheckFailed":
                return Applied.GONE
            if codes and codes[_MARK] == "ConditionalCheckFailed":
                stored = (reasons[_MARK].get("Item") or {}).get(SEQUENCE_ATTRIBUTE, {}).get("S", "")
                return Applied.ALREADY if stored >= padded(window.last) else Applied.OVERLAP
            # TransactionConflict: another stream shard's sum, or an author's edit, holds the row
            jittered_backoff(attempt, base_s=0.05, cap_s=1.0)
        raise DependencyUnavailable("The enrollment count could not be written because of contention.")

    def set_count(self, course_id: str, count: int, stream_shard: str, window: WindowSum) -> bool:
        """Replace the course's count (a recount) and move the shard's mark to the window's end.

        Whether the course row exists (a deleted course is never recreated).
        """
        actions = [self._mark(course_id, stream_shard, window, conditional=False),
                   self._count(course_id, "SET #count = :value", count)]
        return self._cancelled(actions) is None

    def _cancelled(self, actions: list[Any]) -> Sequence[Mapping[str, Any]] | None:
        """Run the transaction: ``None`` if it committed, else its cancellation reasons (503 on other errors)."""
        try:
            self._client.transact_write_items(TransactItems=actions)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise unavailable(error) from error
            return error.response.get("CancellationReasons") or []
        except BotoCoreError as error:
            raise unavailable(error) from error
        return None

    def _mark(self, course_id: str, stream_shard: str, window: WindowSum, *, conditional: bool) -> dict[str, Any]:
        """The update of the course's mark for a stream shard; ``conditional``: only if below the window."""
        update: dict[str, Any] = {
            "TableName": self.courses_table,
            "Key": {"course_id": {"S": mark_key(course_id, stream_shard)}},
            "UpdateExpression": "SET #sequence = :last, #expires = :expires",
            "ExpressionAttributeNames": {"#sequence": SEQUENCE_ATTRIBUTE, "#expires": EXPIRES_ATTRIBUTE},
            "ExpressionAttributeValues": values_of(last=padded(window.last),
                                                   expires=window.last_time + MARK_LIFETIME_S),
        }
        if conditional:
            update["ConditionExpression"] = "attribute_not_exists(#sequence) OR #sequence < :first"
            update["ExpressionAttributeValues"] |= values_of(first=padded(window.first))
            update["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return {"Update": update}

    def _count(self, course_id: str, expression: str, value: int) -> dict[str, Any]:
        """An update of the course row's count (``expression`` on ``#count`` and ``:value``), if the row exists."""
        return {"Update": {
            "TableName": self.courses_table,
            "Key": {"course_id": {"S": course_id}},
            "UpdateExpression": expression,
            "ConditionExpression": "attribute_exists(course_id)",
            "ExpressionAttributeNames": {"#count": COUNT_ATTRIBUTE},
            "ExpressionAttributeValues": values_of(value=value),
        }}


class Reconciler:
    """Recounts a course from its enrollment rows (``ByCourse``, ``Select=COUNT``) and stores the count.

    For a window that overlaps a counted one (window bounds differ between two deliveries),
    and on demand (an operator, a migration). Exact once the eventually consistent index
    holds every row written before it, which is why the counter does not use it per window.
    """

    def __init__(self, rows: EnrollmentRepository, writer: CountWriter) -> None:
        self._rows = rows
        self._writer = writer

    def recount(self, course_id: str, stream_shard: str = "reconciler", window: WindowSum | None = None) -> int | None:
        """Store the course's row count; the count, or ``None`` if the course does not exist."""
        count = self._rows.count_rows(course_id)
        mark = window or WindowSum(delta=0, first=0, last=0, last_time=int(time.time()))
        return count if self._writer.set_count(course_id, count, stream_shard, mark) else None
