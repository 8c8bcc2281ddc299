"""The Enrollments table: one conditional Put per enrollment, and the two lists it is read by.

An enrollment is the Put of its own row, conditioned on the row not existing
(``attribute_not_exists``): it touches no item another student's enrollment touches, so
enrollments never conflict, whatever the rate on one course, and it costs one write unit
(plus the ``ByCourse`` entry). A repeat is refused by the condition, which returns the
stored row: the service answers it as "already enrolled". Counts are not written here:
the enrollment counter aggregates the table's stream (:mod:`courses_api.data.enrollment_counts`).

The roster reads ``ByCourse``, whose partition key is the row's ``course_shard``. A course
is *narrow* while its count is under :data:`WIDE_AT` and it is not declared a launch:
every row goes to partition ``<course_id>#00`` and a roster page is one Query. Otherwise
it is *wide*: a row goes to one of :data:`ROSTER_SHARDS` partitions picked from the user
id, so a launch spreads its index writes (one partition takes about 1,000 a second), and
a page reads the partitions in parallel and merges them in (enrollment time, user id)
order under one position. Writer and reader decide from the same course row (the count
it shows and its ``launch`` flag). A declared course is wide from its first enrollment;
an unannounced one turns wide when the counter's early write moves its count (within
seconds). Rows written narrow stay in ``#00``, which a wide read includes, and a course
never turns narrow again: ``launch`` cannot be unset, and a count only falls when rows are
deleted, which the API never does.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from courses_api.data.dynamo import (
    from_attributes,
    guarded,
    query_page,
    to_attributes,
    unavailable,
    values_of,
)
from courses_api.models import Enrollment, RosterEntry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BY_COURSE = "ByCourse"  # GSI: course_shard + enrolled_at, a course's roster in ROSTER_SHARDS partitions
ROSTER_SHARDS = 32  # ByCourse partitions of a wide course: 32 x ~1,000 index writes/s each
WIDE_AT = 100  # enrollments from which a course's roster spreads (a 40-student course: one partition)
SHARD_SEPARATOR = "#"


def roster_width(count: int, *, launch: bool = False) -> int:
    """How many ``ByCourse`` partitions a course with ``count`` enrollments (declared a ``launch`` or not) uses."""
    return ROSTER_SHARDS if launch or count >= WIDE_AT else 1


def shard_of(user_id: str, shards: int = ROSTER_SHARDS) -> int:
    """The roster partition of a user's enrollment: a stable hash (not Python's salted ``hash``)."""
    if shards <= 1:
        return 0
    digest = hashlib.blake2b(user_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def roster_partition(course_id: str, shard: int) -> str:
    """The ``ByCourse`` partition key (``course_shard``) of one roster partition of a course."""
    return f"{course_id}{SHARD_SEPARATOR}{shard:02d}"


def enrollment_row(user_id: str, course_id: str, enrolled_at: str, shards: int = 1) -> dict[str, str]:
    """An Enrollments row as stored: the keys, the time, and its roster partition."""
    partition = roster_partition(course_id, shard_of(user_id, shards))
    return {"user_id": user_id, "course_id": course_id, "enrolled_at": enrolled_at, "course_shard": partition}


def placed(rows: list[dict[str, str]], counts: dict[str, int]) -> list[dict[str, str]]:
    """Rows written in bulk (seed data), each in the partition its course's final count gives it."""
    return [enrollment_row(r["user_id"], r["course_id"], r["enrolled_at"], roster_width(counts.get(r["course_id"], 0)))
            for r in rows]


class EnrollmentAlreadyExists(Exception):
    """The enrollment exists (raised by the repository; not an error for the client)."""

    def __init__(self, enrollment: Enrollment) -> None:
        super().__init__("already enrolled")
        self.enrollment = enrollment


RosterPosition = tuple[str, str]


def roster_position(entry: RosterEntry) -> RosterPosition:
    """Where an entry sits in a roster: enrollment time, then user id."""
    return (entry.enrolled_at, entry.user_id)


class EnrollmentRepository:
    """The Enrollments table (key ``user_id`` + ``course_id``, index ``ByCourse`` on ``course_shard``)."""

    def __init__(self, client: DynamoDBClient, table_name: str, *, readers: int = 8) -> None:
        self._client = client
        self.table_name = table_name
        self._readers = readers

    def enroll(self, enrollment: Enrollment, *, shards: int = 1) -> None:
        """Write the enrollment row if it does not exist; raises :class:`EnrollmentAlreadyExists` if it does.

        ``shards``: the course's roster width (:func:`roster_width` of the course as read).
        """
        row = enrollment_row(enrollment.user_id, enrollment.course_id, enrollment.enrolled_at, shards)
        try:
            guarded(lambda: self._client.put_item(
                TableName=self.table_name,
                Item=to_attributes(row),
                ConditionExpression="attribute_not_exists(user_id)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            ))
        except ClientError as error:  # the condition failed: the stored row came back
            item: Any = error.response.get("Item")
            if isinstance(item, dict) and item:
                raise EnrollmentAlreadyExists(Enrollment.model_validate(from_attributes(item))) from error
            raise unavailable(error) from error

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
        self, course_id: str, *, limit: int, after: RosterPosition | None, shards: int = 1
    ) -> tuple[list[RosterEntry], RosterPosition | None]:
        """A course's roster, oldest enrollment first (ties by user id), under one position.

        Each of the course's ``shards`` partitions (one Query for a narrow course) is read,
        in parallel, past ``after`` until it holds ``limit`` entries and every entry tied
        with its last one (one Query each, usually), and the union is sorted. No entry is
        skipped: a partition's unread entries all come after its ``limit``-th, so after
        every entry of this page.
        """
        def read(shard: int) -> tuple[list[RosterEntry], bool]:
            return self._read_partition(roster_partition(course_id, shard), limit, after)

        if shards == 1:
            reads = [read(0)]
        else:
            with ThreadPoolExecutor(max_workers=min(self._readers, shards)) as pool:
                reads = list(pool.map(read, range(shards)))
        merged = sorted((entry for entries, _ in reads for entry in entries), key=roster_position)
        page = merged[:limit]
        more = len(merged) > limit or any(unread for _, unread in reads)
        return page, (roster_position(page[-1]) if page and more else None)

    def count_rows(self, course_id: str) -> int:
        """The course's enrollment rows, counted in ``ByCourse`` (``Select=COUNT`` on every partition it may use)."""
        total = 0
        for shard in range(ROSTER_SHARDS):
            start: dict[str, Any] | None = {}
            while start is not None:
                response = guarded(partial(
                    self._client.query, TableName=self.table_name, IndexName=BY_COURSE, Select="COUNT",
                    KeyConditionExpression="course_shard = :partition",
                    ExpressionAttributeValues=values_of(partition=roster_partition(course_id, shard)), **start))
                total += int(response.get("Count", 0))
                start = {"ExclusiveStartKey": response["LastEvaluatedKey"]} if "LastEvaluatedKey" in response else None
        return total

    def _read_partition(
        self, partition: str, limit: int, after: RosterPosition | None
    ) -> tuple[list[RosterEntry], bool]:
        """Entries of one roster partition past ``after``: at least ``limit`` (and all tied with the
        ``limit``-th) unless the partition ends first; and whether entries remain unread."""
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
