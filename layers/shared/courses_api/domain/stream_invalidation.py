"""The backstop: invalidate the cache from the DynamoDB streams of Courses and Enrollments.

Each Courses record's old and new images go through the same :func:`plan_invalidation`
the write services use; an Enrollments record (keyed by ``user_id`` and ``course_id``)
bumps that user's enrollment list, as the enroll service does. A count written by the
enrollment counter is a course row change like any other: its record drops the course's
entry. Records that need no cache change (the counter's marks, ``<course_id>#...`` keys)
are done without a call to Redis, so they never fail because the cache is down.
``ReadThroughCache.invalidate`` never raises and says whether Redis took the change; if
not, the record is reported as a batch item failure and Lambda retries it (bisecting the
batch; the template sends what keeps failing to a dead-letter queue); when every record
fails, Powertools fails the whole invocation. With no Redis tier configured there is
nothing to invalidate.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from courses_api.cache.api import ReadThroughCache
from courses_api.data.enrollment_counts import is_course_key
from courses_api.domain.enrollment_lists import enrollment_write_id, my_enrollments_namespace
from courses_api.domain.invalidation import Image, Invalidation, Invalidator, plan_invalidation
from courses_api.observability import logger, metrics


class MalformedStreamRecord(ValueError):
    """A record without the key or images this function needs (reported as a failure)."""


class InvalidationNotDelivered(RuntimeError):
    """Redis did not take the invalidation; the record is retried."""


NOTHING = Invalidation(item_ids=(), namespaces=())


def plan_for_record(record: DynamoDBRecord) -> Invalidation:
    """What one stream record makes stale (``INSERT`` has no old image, ``REMOVE`` no new one)."""
    stream = record.dynamodb
    if stream is None:
        raise MalformedStreamRecord("record has no dynamodb section")
    course_id = stream.keys.get("course_id")
    if not isinstance(course_id, str) or not course_id:
        raise MalformedStreamRecord("record has no course_id key")
    if not is_course_key(course_id):
        # A count's mark (see data.enrollment_counts), or a count shard of older releases.
        return NOTHING
    user_id = stream.keys.get("user_id")
    if user_id is not None:  # an Enrollments record
        if not isinstance(user_id, str) or not user_id:
            raise MalformedStreamRecord("enrollment record has an empty user_id key")
        created = record.event_name is not None and record.event_name.name == "INSERT"
        return Invalidation(item_ids=(), namespaces=(my_enrollments_namespace(user_id),),
                            write_id=enrollment_write_id(user_id, course_id) if created else None)
    old: Image | None = stream.old_image or None
    new: Image | None = stream.new_image or None
    return plan_invalidation(course_id, old, new)


class StreamInvalidator:
    """Handles a batch of stream records with partial batch failure reporting."""

    def __init__(self, cache: ReadThroughCache) -> None:
        self._cache = cache
        self._invalidator = Invalidator(cache)
        self._processor = BatchProcessor(event_type=EventType.DynamoDBStreams)

    def handle_record(self, record: DynamoDBRecord) -> None:
        """Invalidate what one record made stale; raise so the record is retried if Redis missed it."""
        plan = plan_for_record(record)
        if plan == NOTHING:
            return  # nothing cached depends on it: done, whatever the state of Redis
        if not self._invalidator.apply(plan):
            raise InvalidationNotDelivered("redis did not take the invalidation")

    def handle_batch(self, event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
        """The Lambda response: ``batchItemFailures`` lists the records to retry."""
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
