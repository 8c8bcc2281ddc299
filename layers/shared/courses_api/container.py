"""Per-container singletons, built lazily on first use and reused across invocations.

Each function module holds one :class:`Container`, so clients and the near cache live
as long as the Lambda container (and, locally, each function keeps its own, as separate
containers would). Outside Lambda nothing is built at import time, so tests can replace
or reset a container before the first request; inside Lambda the clients are built during
init (see :mod:`courses_api.lifecycle`), where SnapStart captures them. Each part's module
is imported when the part is first built, so a function loads only what its route uses
(a read never imports the write path, a container without Redis never imports redis-py).
"""

from __future__ import annotations

import threading
from functools import cached_property
from importlib import import_module
from typing import TYPE_CHECKING, Any, Literal

from courses_api.lifecycle import prime
from courses_api.observability import metrics
from courses_api.settings import Settings

if TYPE_CHECKING:
    from courses_api.cache.api import ReadThroughCache
    from courses_api.data.capacity import CapacityMeter
    from courses_api.data.courses import CourseRepository
    from courses_api.data.cursors import CursorCodec
    from courses_api.data.enrollments import EnrollmentRepository
    from courses_api.domain.course_reads import CourseReads
    from courses_api.domain.course_writes import CourseWrites
    from courses_api.domain.enrollment_counting import EnrollmentCounter
    from courses_api.domain.enrollments import EnrollmentService
    from courses_api.domain.idempotency import IdempotentEnrollments
    from courses_api.domain.invalidation import Invalidator
    from courses_api.domain.stream_invalidation import StreamInvalidator
    from courses_api.models import HealthReport

HEALTH_PROBE_KEY = "__health__"


class Container:
    """Lazily built clients, repositories and services of one function."""

    def __init__(self, settings: Settings | None = None, *, cursors: bool = False) -> None:
        """``cursors``: the function pages through lists, so it needs the cursor key at init."""
        self._explicit_settings = settings
        self._uses_cursors = cursors
        self._lock = threading.RLock()
        prime(self.build_clients, self.warm)

    def build_clients(self) -> None:
        """Build settings, the DynamoDB client and the cache now (no network I/O happens), and
        read the cursor key of a function that pages (one Secrets Manager call in AWS)."""
        _ = (self.settings, self.dynamodb, self.cache)
        if self._uses_cursors:
            self.cursors.keys()  # a function without a usable key refuses to start

    def warm(self) -> None:
        """Load now what first use would load: redis-py, with a Redis tier (no connection is made)."""
        if self.settings.cache_enabled:
            import_module("courses_api.cache.client")

    @cached_property
    def settings(self) -> Settings:
        return self._explicit_settings or Settings.from_environment()

    @cached_property
    def meter(self) -> CapacityMeter:
        from courses_api.data.capacity import new_meter

        return new_meter()

    @cached_property
    def dynamodb(self) -> Any:
        from courses_api.data.dynamo import build_dynamodb_client

        with self._lock:
            return build_dynamodb_client(self.settings, self.meter)

    @cached_property
    def cache(self) -> ReadThroughCache:
        from courses_api.cache.config import build_cache

        with self._lock:
            return build_cache(self.settings, metrics)

    @cached_property
    def cursors(self) -> CursorCodec:
        """From Secrets Manager (``CURSOR_SECRET_ID``, re-read every few minutes), else from
        ``CURSOR_SECRET`` (and ``CURSOR_SECRET_PREVIOUS``); neither: any use fails."""
        from courses_api.data.cursors import CursorCodec, CursorSecretError, secrets_manager_keys

        settings = self.settings
        if settings.cursor_secret_id:
            return CursorCodec.from_source(secrets_manager_keys(settings.cursor_secret_id))
        if settings.cursor_secret is None:

            def missing() -> tuple[bytes, ...]:
                raise CursorSecretError("cursor_secret: set CURSOR_SECRET_ID (Secrets Manager) or CURSOR_SECRET")

            return CursorCodec.from_source(missing)
        previous = settings.cursor_secret_previous
        return CursorCodec(settings.cursor_secret.get_secret_value().encode(),
                           () if previous is None else (previous.get_secret_value().encode(),))

    @cached_property
    def course_repository(self) -> CourseRepository:
        from courses_api.data.courses import CourseRepository

        return CourseRepository(self.dynamodb, self.settings.courses_table)

    @cached_property
    def course_reads(self) -> CourseReads:
        """Courses and pages, each course with its enrollment count (carried by its row)."""
        from courses_api.domain.course_reads import CourseReads

        return CourseReads(self.course_repository, self.cache, self.cursors)

    # ----- write path -----

    @cached_property
    def invalidator(self) -> Invalidator:
        from courses_api.domain.invalidation import Invalidator

        return Invalidator(self.cache)

    @cached_property
    def course_writes(self) -> CourseWrites:
        from courses_api.domain.course_writes import CourseWrites

        return CourseWrites(self.course_repository, self.invalidator)

    @cached_property
    def enrollment_repository(self) -> EnrollmentRepository:
        from courses_api.data.enrollments import EnrollmentRepository

        return EnrollmentRepository(self.dynamodb, self.settings.enrollments_table)

    @cached_property
    def enrollment_service(self) -> EnrollmentService:
        from courses_api.domain.enrollment_lists import EnrollmentLists
        from courses_api.domain.enrollments import EnrollmentService

        return EnrollmentService(
            self.enrollment_repository, self.course_reads, self.cursors,
            lists=EnrollmentLists(self.enrollment_repository, self.cache),
        )

    @cached_property
    def idempotent_enrollments(self) -> IdempotentEnrollments | None:
        """``Idempotency-Key`` support, or ``None`` when no IDEMPOTENCY_TABLE is configured.

        Its own client (same endpoint, timeouts and retries), so idempotency bookkeeping is
        not counted as the request's read cost by the capacity meter.
        """
        if not self.settings.idempotency_table:
            return None
        from courses_api.data.dynamo import build_dynamodb_client
        from courses_api.domain.idempotency import IdempotentEnrollments  # Powertools idempotency: load on use

        with self._lock:
            return IdempotentEnrollments(
                self.enrollment_service,
                table_name=self.settings.idempotency_table,
                client=build_dynamodb_client(self.settings),
            )

    @cached_property
    def stream_invalidator(self) -> StreamInvalidator:
        from courses_api.domain.stream_invalidation import StreamInvalidator  # only the stream function needs it

        return StreamInvalidator(self.cache)

    @cached_property
    def enrollment_counter(self) -> EnrollmentCounter:
        """The Enrollments stream's counter: DynamoDB only (it never needs Redis)."""
        from courses_api.data.enrollment_counts import CountWriter, Reconciler
        from courses_api.domain.enrollment_counting import EnrollmentCounter

        writer = CountWriter(self.dynamodb, self.settings.courses_table)
        return EnrollmentCounter(writer, Reconciler(self.enrollment_repository, writer))

    def health(self) -> HealthReport:
        """DynamoDB must answer; a cache outage only degrades (reads fall back to DynamoDB)."""
        from courses_api.data.dynamo import guarded
        from courses_api.errors import DependencyUnavailable
        from courses_api.models import HealthReport

        try:
            guarded(lambda: self.dynamodb.get_item(
                TableName=self.settings.courses_table, Key={"course_id": {"S": HEALTH_PROBE_KEY}},
                ReturnConsumedCapacity="TOTAL",
            ))
            database = {"status": "ok"}
        except DependencyUnavailable as error:
            raise DependencyUnavailable("DynamoDB is not reachable.") from error
        cache = self.cache.health()
        cache_report: dict[str, Any] = {"status": cache.status, **({"detail": cache.detail} if cache.detail else {})}
        cache_report.update(cache.extra)
        overall: Literal["ok", "degraded"] = "ok" if cache.status in ("ok", "disabled") else "degraded"
        return HealthReport(status=overall, dependencies={"dynamodb": database, "cache": cache_report})
