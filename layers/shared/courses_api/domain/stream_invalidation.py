"""The backstop: invalidate the cache from the DynamoDB streams of Courses and Enrollments.

Each Courses record's old and new images go through the same :func:`plan_invalidation`
the write services use; an Enrollments record (keyed by ``user_id`` and ``course_id``)
bumps that user's enrollment list, as the enroll service does.

Count shard records (one per enrollment) are not invalidations: each batch's latest value
of every shard is copied onto its course row's tally, one UpdateItem per course and batch
(:class:`~courses_api.data.enrollment_shards.CountTally`), so a launch writes the course
row at the stream's batch rate, not at its enrollment rate. That copy is a row change
like any other: its own record, a tally-only change, drops the course's cache entry.
``ReadThroughCache.invalidate`` never raises and says whether Redis took the change; if
not, the record is reported as a batch item failure and Lambda retries it (bisecting the
batch; the template sends what keeps failing to a dead-letter queue); when every record
fails, Powertools fails the whole invocation. With no Redis tier configured there is
nothing to invalidate.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from courses_api.cache.api import ReadThroughCache
from courses_api.data.enrollment_shards import (
    COUNT_ATTRIBUTE,
    COUNT_SHARDS,
    CountTally,
    course_of_count_shard,
    is_count_shard_key,
    shard_of_count_key,
)
from courses_api.domain.enrollment_lists import my_enrollments_namespace
from courses_api.domain.invalidation import Image, Invalidation, Invalidator, plan_invalidation
from courses_api.errors import DependencyUnavailable
from courses_api.observability import logger, metrics


class MalformedStreamRecord(ValueError):
    """A record without the key or images this function needs (reported as a failure)."""


class InvalidationNotDelivered(RuntimeError):
    """Redis did not take the invalidation; the record is retried."""


class TallyNotCopied(RuntimeError):
    """The count of this record's course could not be copied onto its row; the record is retried."""


def shard_count_of(record: DynamoDBRecord) -> tuple[str, int, int] | None:
    """``(course_id, shard, count)`` of a count shard record that carries a count, else ``None``."""
    stream = record.dynamodb
    if stream is None:
        return None
    key = stream.keys.get("course_id")
    if not isinstance(key, str) or not is_count_shard_key(key):
        return None
    count = (stream.new_image or {}).get(COUNT_ATTRIBUTE)
    if isinstance(count, bool) or not isinstance(count, int | Decimal):
        return None
    try:
        shard = shard_of_count_key(key)
    except ValueError:
        return None
    course_id = course_of_count_shard(key)
    if not course_id or not 0 <= shard < COUNT_SHARDS:  # not a key the enroll path writes
        return None
    return course_id, shard, int(count)


def latest_shard_counts(records: Sequence[DynamoDBRecord]) -> dict[str, dict[int, int]]:
    """Per course, each shard's count in its last record of the batch (the stream keeps one key's order)."""
    latest: dict[str, dict[int, int]] = {}
    for record in records:
        found = shard_count_of(record)
        if found is not None:
            course_id, shard, count = found
            latest.setdefault(course_id, {})[shard] = count
    return latest


def plan_for_record(record: DynamoDBRecord) -> Invalidation:
    """What one stream record makes stale (``INSERT`` has no old image, ``REMOVE`` no new one)."""
    stream = record.dynamodb
    if stream is None:
        raise MalformedStreamRecord("record has no dynamodb section")
    course_id = stream.keys.get("course_id")
    if not isinstance(course_id, str) or not course_id:
        raise MalformedStreamRecord("record has no course_id key")
    if is_count_shard_key(course_id):
        # A count shard: nothing is cached under it; its value was copied onto the course row.
        return Invalidation(item_ids=(), namespaces=())
    user_id = stream.keys.get("user_id")
    if user_id is not None:  # an Enrollments record
        if not isinstance(user_id, str) or not user_id:
            raise MalformedStreamRecord("enrollment record has an empty user_id key")
        return Invalidation(item_ids=(), namespaces=(my_enrollments_namespace(user_id),))
    old: Image | None = stream.old_image or None
    new: Image | None = stream.new_image or None
    return plan_invalidation(course_id, old, new)


class StreamInvalidator:
    """Handles a batch of stream records with partial batch failure reporting."""

    def __init__(self, cache: ReadThroughCache, tally: CountTally) -> None:
        self._cache = cache
        self._tally = tally
        self._invalidator = Invalidator(cache)
        self._processor = BatchProcessor(event_type=EventType.DynamoDBStreams)
        self._uncopied: set[str] = set()

    def handle_record(self, record: DynamoDBRecord) -> None:
        """Invalidate what one record made stale; raise so the record is retried if Redis missed it."""
        shard_count = shard_count_of(record)
        if shard_count is not None and shard_count[0] in self._uncopied:
            raise TallyNotCopied(f"the tally of {shard_count[0]} was not copied")
        plan = plan_for_record(record)
        if not self._invalidator.apply(plan):
            raise InvalidationNotDelivered("redis did not take the invalidation")

    def copy_tallies(self, records: Sequence[DynamoDBRecord]) -> set[str]:
        """Copy the batch's latest shard counts onto their course rows; the courses that failed."""
        failed: set[str] = set()
        latest = latest_shard_counts(records)
        for course_id, shard_counts in latest.items():
            try:
                self._tally.copy(course_id, shard_counts)
            except DependencyUnavailable:  # DynamoDB failed after its retries: retry the records
                logger.exception("count tally not copied", extra={"course_id": course_id})
                failed.add(course_id)
        if latest:
            metrics.add_metric(name="CountTalliesCopied", unit=MetricUnit.Count, value=len(latest) - len(failed))
        return failed

    def handle_batch(self, event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
        """The Lambda response: ``batchItemFailures`` lists the records to retry."""
        self._uncopied = self.copy_tallies([DynamoDBRecord(raw) for raw in event.get("Records", [])])
        response = process_partial_response(
            event=event, record_handler=self.handle_record, processor=self._processor, context=context
        )
        failures = response.get("batchItemFailures", [])
        records = len(event.get("Records", []))
        metrics.add_metric(name="StreamRecordsInvalidated", unit=MetricUnit.Count, value=records - len(failures))
        metrics.add_metric(name="StreamRecordsFailed", unit=MetricUnit.Count, value=len(failures))
        if failures:
            logger.warning("stream records not invalidated", extra={"failed": len(failures), "records": records})
        return dict(response)
