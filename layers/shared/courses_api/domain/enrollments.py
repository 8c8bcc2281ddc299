"""Enrollments: enroll the caller, list their enrollments, list a course's roster.

The write itself is one transaction in :class:`~courses_api.data.enrollments.EnrollmentRepository`;
this service answers its outcomes (a repeat is 200 with the existing enrollment; a course
that is absent or not published is 404/409) and keeps the cache right after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from courses_api.data.cursors import CursorCodec
from courses_api.data.enrollments import CourseNotOpen, EnrollmentAlreadyExists, EnrollmentRepository
from courses_api.domain.auth import Caller
from courses_api.domain.course_reads import CourseReads
from courses_api.domain.invalidation import Invalidation, Invalidator
from courses_api.errors import Conflict, Forbidden, NotFound
from courses_api.models import (
    Enrollment,
    EnrollmentPage,
    EnrollmentWithCourse,
    RosterPage,
    utc_now,
)


@dataclass(frozen=True, slots=True)
class EnrollOutcome:
    """Result of an enroll request: the enrollment and whether this request created it."""

    enrollment: Enrollment
    created: bool


class EnrollmentService:
    """Enroll the caller, list their enrollments, list a course's roster."""

    def __init__(
        self,
        enrollments: EnrollmentRepository,
        course_reads: CourseReads,
        invalidator: Invalidator,
        cursors: CursorCodec,
    ) -> None:
        self._enrollments = enrollments
        self._course_reads = course_reads
        self._invalidator = invalidator
        self._cursors = cursors

    def enroll(self, caller: Caller, course_id: str) -> EnrollOutcome:
        """Enroll the caller themself; a repeat returns the existing enrollment and creates nothing."""
        user_id = caller.require_user()
        enrollment = Enrollment(user_id=user_id, course_id=course_id, enrolled_at=utc_now())
        try:
            self._enrollments.enroll(enrollment)
        except EnrollmentAlreadyExists as existing:
            return EnrollOutcome(existing.enrollment, created=False)
        except CourseNotOpen as closed:
            course = closed.course
            if course is None or not caller.may_see(course.status, course.instructor_id):
                raise NotFound(f"No course with id {course_id!r}.") from closed
            raise Conflict(f"The course is {course.status}; only published courses take enrollments.") from closed
        # The count changed: drop the course's item (the lists' counts age out with their TTL).
        self._invalidator.apply(Invalidation(item_ids=(course_id,), namespaces=()))
        return EnrollOutcome(enrollment, created=True)

    def my_enrollments(self, caller: Caller, *, limit: int, cursor: str | None) -> EnrollmentPage:
        """The caller's enrollments, each with its course summary.

        One Query, then the summaries from the item cache (the whole course is cached; the
        summary is derived from it); only the courses not cached are read, with one
        BatchGetItem per 100. Without Redis that is one BatchGetItem of every course.
        """
        user_id = caller.require_user()
        scope = f"me:{user_id}"
        enrollments, next_key = self._enrollments.list_by_user(
            user_id, limit=limit, start_key=self._cursors.decode(scope, cursor)
        )
        courses = self._course_reads.get_courses([e.course_id for e in enrollments], caller) if enrollments else {}
        items = []
        for enrollment in enrollments:
            course = courses[enrollment.course_id].value
            summary = None
            if course is not None and caller.may_see(course.status, course.instructor_id):
                summary = course.summary()
            items.append(EnrollmentWithCourse(
                course_id=enrollment.course_id, enrolled_at=enrollment.enrolled_at, course=summary
            ))
        return EnrollmentPage(items=items, next_cursor=self._cursors.encode(scope, next_key))

    def roster(self, caller: Caller, course_id: str, *, limit: int, cursor: str | None) -> RosterPage:
        """Who is enrolled in a course: its instructor and admins only."""
        caller.require_user()
        course = self._course_reads.get_course(course_id, caller).value  # 404 for invisible courses
        if not caller.may_manage(course.instructor_id):
            raise Forbidden("Only the course's instructor or an admin may read its roster.")
        scope = f"roster:{course_id}"
        entries, next_key = self._enrollments.list_by_course(
            course_id, limit=limit, start_key=self._cursors.decode(scope, cursor)
        )
        return RosterPage(items=entries, next_cursor=self._cursors.encode(scope, next_key))
