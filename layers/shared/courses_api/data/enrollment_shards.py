"""Where an enrollment's writes land: N count shards and N roster partitions per course.

A launch sends thousands of enrollments a second to one course. DynamoDB gives one
partition about 1,000 write units a second, and transactions on one item conflict, so no
single item or index partition may take a write per enrollment. Each enrollment
therefore picks one of :data:`COUNT_SHARDS` shards from its user id (a stable hash, so
every attempt and every retry of one user's enrollment lands on the same shard):

- the count shard: an item of the Courses table keyed ``<course_id>#enrollments#<NN>``
  whose ``enrollment_count`` the enrollment's transaction adds 1 to. ``#`` never occurs
  in a course id, so a shard key cannot collide with a course, and a shard item has none
  of the list indexes' key attributes, so no index holds it;
- the roster partition: the enrollment row's ``course_shard`` (``<course_id>#<NN>``), the
  partition key of the ``ByCourse`` index.

Reads never add up the shards. The stream invalidator copies each shard's latest value
onto the course row, one attribute per shard (``enrollment_shard_<NN>``, the *tally*),
with one UpdateItem per course and stream batch (:class:`CountTally`). A course's count is
then its row's ``enrollment_count`` (counts written before sharding, or seeded;
enrollments never change it) plus its tally (:func:`count_of_row`): the read that fetches
the course fetches its count, at no extra read unit. The tally is an absolute copy, not an
increment, so replaying a record (a retried batch) writes the same value again; the
stream delivers one key's records in order, so the last value copied is the newest. No
list index projects a tally attribute, so copying it writes no index.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from courses_api.data.dynamo import batch_get, guarded, is_condition_failure, values_of

COUNT_SHARDS = 32
COUNT_ATTRIBUTE = "enrollment_count"
SHARD_SEPARATOR = "#"
_COUNT_SUFFIX = "#enrollments#"
TALLY_PREFIX = "enrollment_shard_"


def shard_of(user_id: str, shards: int = COUNT_SHARDS) -> int:
    """The shard of a user's enrollments: a stable hash of the user id (not Python's salted ``hash``)."""
    digest = hashlib.blake2b(user_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def count_shard_key(course_id: str, shard: int) -> str:
    """The Courses-table key of one count shard of a course."""
    return f"{course_id}{_COUNT_SUFFIX}{shard:02d}"


def roster_partition(course_id: str, shard: int) -> str:
    """The ``ByCourse`` partition key (``course_shard``) of one roster shard of a course."""
    return f"{course_id}{SHARD_SEPARATOR}{shard:02d}"


def enrollment_row(user_id: str, course_id: str, enrolled_at: str, shards: int = COUNT_SHARDS) -> dict[str, str]:
    """An Enrollments row as stored: the keys, the time, and its roster partition."""
    partition = roster_partition(course_id, shard_of(user_id, shards))
    return {"user_id": user_id, "course_id": course_id, "enrolled_at": enrolled_at, "course_shard": partition}


def is_count_shard_key(key: str) -> bool:
    """Whether a Courses-table key is a count shard (course ids never contain ``#``)."""
    return _COUNT_SUFFIX in key


def course_of_count_shard(key: str) -> str:
    """The course a count shard key belongs to."""
    return key.split(_COUNT_SUFFIX, 1)[0]


def shard_of_count_key(key: str) -> int:
    """The shard number of a count shard key (``ValueError`` if it is not one)."""
    return int(key.split(_COUNT_SUFFIX, 1)[1])


def tally_attribute(shard: int) -> str:
    """The course-row attribute holding the copy of one shard's count."""
    return f"{TALLY_PREFIX}{shard:02d}"


def is_tally_attribute(name: str) -> bool:
    """Whether a course-row attribute is part of the tally."""
    return name.startswith(TALLY_PREFIX)


def _number(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float):
        return 0
    return int(value)


def count_of_row(row: Mapping[str, Any]) -> int:
    """A course row's enrollment count: its base ``enrollment_count`` plus its tally."""
    tally = sum(_number(value) for name, value in row.items() if is_tally_attribute(name))
    return _number(row.get(COUNT_ATTRIBUTE)) + tally


class CountTally:
    """Copies count shards' latest values onto their course rows (the stream invalidator's job)."""

    def __init__(self, client: Any, courses_table: str) -> None:
        self._client = client
        self.courses_table = courses_table

    def copy(self, course_id: str, shard_counts: Mapping[int, int]) -> bool:
        """Set the course row's tally attributes of these shards; ``False`` if the course is gone.

        One UpdateItem whatever the number of shards, conditioned on the row existing, so a
        deleted course is never recreated as a row holding only a tally.
        """
        if not shard_counts:
            return True
        names = {f"#s{shard:02d}": tally_attribute(shard) for shard in shard_counts}
        values = values_of(**{f"s{shard:02d}": int(count) for shard, count in shard_counts.items()})
        assignments = ", ".join(f"#s{shard:02d} = :s{shard:02d}" for shard in sorted(shard_counts))
        try:
            guarded(lambda: self._client.update_item(
                TableName=self.courses_table,
                Key={"course_id": {"S": course_id}},
                UpdateExpression=f"SET {assignments}",
                ConditionExpression="attribute_exists(course_id)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            ))
        except ClientError as error:  # guarded() re-raises only a refused condition
            if is_condition_failure(error):
                return False
            raise
        return True


class EnrollmentCounts:
    """Courses' counts from the shards themselves: the course row's base plus every shard.

    The truth the tally copies, at 33 keys a course: no request path reads it (a course's
    row carries its count); the write benchmark and the tests check the tally against it.
    """

    def __init__(self, client: Any, courses_table: str, shards: int = COUNT_SHARDS) -> None:
        self._client = client
        self.courses_table = courses_table
        self.shards = shards

    def keys_of(self, course_id: str) -> list[str]:
        """The Courses-table keys whose ``enrollment_count`` add up to the course's count."""
        return [course_id, *(count_shard_key(course_id, shard) for shard in range(self.shards))]

    def totals(self, course_ids: Sequence[str], *, consistent: bool = False) -> dict[str, int]:
        """Each course's count (0 for a course nobody enrolled in), in BatchGetItem calls of 100 keys."""
        ids = list(dict.fromkeys(course_ids))
        keys = [{"course_id": key} for course_id in ids for key in self.keys_of(course_id)]
        totals = dict.fromkeys(ids, 0)
        if not keys:
            return totals
        items = batch_get(
            self._client, self.courses_table, keys, projection=("course_id", COUNT_ATTRIBUTE), consistent=consistent
        )
        for item in items:
            key = str(item["course_id"])
            course_id = course_of_count_shard(key) if is_count_shard_key(key) else key
            if course_id in totals:
                totals[course_id] += int(item.get(COUNT_ATTRIBUTE, 0) or 0)
        return totals
