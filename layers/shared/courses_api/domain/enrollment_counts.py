"""Enrollment counts on the read side: merged into every course a response shows.

Enrollments write count shards (see :mod:`courses_api.data.enrollment_shards`), never the
course row or a list index, so the list indexes no longer carry the count. Reads merge it
in: each course's total (base + shards) is cached per course for ``CACHE_LIST_TTL_S``,
the bound list pages already have, so a count shown anywhere is at most that old; an
enrollment invalidates nothing (dropping a launch course's entries at its enrollment
rate would send every reader to DynamoDB). Without Redis the total is read each time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import TypeAdapter

from courses_api.cache.api import Cached, ReadThroughCache
from courses_api.data.courses import CourseRepository
from courses_api.data.cursors import CursorCodec
from courses_api.data.enrollment_shards import EnrollmentCounts
from courses_api.domain.auth import Caller
from courses_api.domain.course_reads import CourseReads
from courses_api.models import Course, CoursePage, CourseSummary

COUNT_ADAPTER: TypeAdapter[int] = TypeAdapter(int)
_CACHE_SUFFIX = "#enrollment-count"


def count_cache_id(course_id: str) -> str:
    """The cache id of a course's count (``#`` keeps it apart from every course id)."""
    return course_id + _CACHE_SUFFIX


class CourseCounts:
    """Courses' enrollment counts through a cache whose entries live ``CACHE_LIST_TTL_S``."""

    def __init__(self, counts: EnrollmentCounts, cache: ReadThroughCache) -> None:
        self._counts = counts
        self._cache = cache

    def of(self, course_ids: Sequence[str]) -> dict[str, int]:
        """Each course's count; the ones not cached are read together (BatchGetItem of their shards)."""
        ids = list(dict.fromkeys(course_ids))
        if not ids:
            return {}
        by_cache_id = {count_cache_id(course_id): course_id for course_id in ids}

        def load(cache_ids: Sequence[str], /, *, consistent: bool) -> Mapping[str, int]:
            # Eventually consistent even for a fill (half the read units): nothing invalidates a
            # count, so there is no fence a slightly older total could slip past; it only ages.
            totals = self._counts.totals([by_cache_id[i] for i in cache_ids], consistent=False)
            return {count_cache_id(course_id): total for course_id, total in totals.items()}

        cached = self._cache.fetch_items(list(by_cache_id), load, COUNT_ADAPTER)
        return {course_id: cached[cache_id].value or 0 for cache_id, course_id in by_cache_id.items()}

    def merge_summaries(self, summaries: Sequence[CourseSummary]) -> list[CourseSummary]:
        """The summaries with their current counts."""
        totals = self.of([summary.course_id for summary in summaries])
        return [s.model_copy(update={"enrollment_count": totals[s.course_id]}) for s in summaries]

    def merge_course(self, course: Course) -> Course:
        """The course with its current count."""
        return course.model_copy(update={"enrollment_count": self.of([course.course_id])[course.course_id]})


class CountedCourseReads(CourseReads):
    """:class:`CourseReads` whose courses and list pages carry current enrollment counts.

    Pages and items are cached without caring about counts (enrollments do not invalidate
    them); the counts are merged after the cache, from the count cache.
    """

    def __init__(
        self, repository: CourseRepository, cache: ReadThroughCache, cursors: CursorCodec, counts: CourseCounts
    ) -> None:
        super().__init__(repository, cache, cursors)
        self._counts = counts

    def get_course(self, course_id: str, caller: Caller) -> Cached[Course]:
        cached = super().get_course(course_id, caller)
        return Cached(self._counts.merge_course(cached.value), cached.outcome)

    def list_published(
        self, *, category: str | None, level: str | None, limit: int, cursor: str | None
    ) -> Cached[CoursePage]:
        cached = super().list_published(category=category, level=level, limit=limit, cursor=cursor)
        return self._merged(cached)

    def list_by_instructor(
        self, instructor_id: str, caller: Caller, *, limit: int, cursor: str | None
    ) -> Cached[CoursePage]:
        cached = super().list_by_instructor(instructor_id, caller, limit=limit, cursor=cursor)
        return self._merged(cached)

    def _merged(self, cached: Cached[CoursePage]) -> Cached[CoursePage]:
        page = cached.value
        merged = CoursePage(items=self._counts.merge_summaries(page.items), next_cursor=page.next_cursor)
        return Cached(merged, cached.outcome)
