"""Enrollments: enroll the caller, list their enrollments, list a course's roster.

The write is one conditional Put of the enrollment row
(:class:`~courses_api.data.enrollments.EnrollmentRepository`), in the roster width the
course read decides. The course must be published: that is checked by reading it (through
the item cache) before the Put, because a condition on the course row would make every
enrollment a write on that one item again. Within the item cache's staleness a course just
unpublished or deleted may still take an enrollment: it is accepted and shown
consistently (the row is the student's history; a deleted course gets no count, see
:mod:`courses_api.data.enrollment_counts`). The course's entry is not invalidated here:
the row did not change until the enrollment counter adds the enrollment to its count.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from courses_api.data.cursors import CursorCodec
from courses_api.data.enrollments import EnrollmentAlreadyExists, EnrollmentRepository, RosterPosition, roster_width
from courses_api.domain.auth import Caller
from courses_api.domain.course_reads import CourseReads
from courses_api.domain.enrollment_lists import EnrollmentLists
from courses_api.errors import BadRequest, Conflict, Forbidden
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
        cursors: CursorCodec,
        *,
        lists: EnrollmentLists,
    ) -> None:
        self._enrollments = enrollments
        self._lists = lists
        self._course_reads = course_reads
        self._cursors = cursors

    def enroll(self, caller: Caller, course_id: str) -> EnrollOutcome:
        """Enroll the caller themself; a repeat returns the existing enrollment and creates nothing.

        The course is read first (through the item cache): 404 when the caller may not see
        it, 409 when it is not published. Only the caller's enrollment list is invalidated;
        the count reaches the course row, and its cache entry, through the stream.
        """
        user_id = caller.require_user()
        course = self._course_reads.get_course(course_id, caller).value  # 404 for invisible courses
        if course.status != "published":
            raise Conflict(f"The course is {course.status}; only published courses take enrollments.")
        enrollment = Enrollment(user_id=user_id, course_id=course_id, enrolled_at=utc_now())
        try:
            self._enrollments.enroll(enrollment, shards=roster_width(course.enrollment_count, launch=course.launch))
        except EnrollmentAlreadyExists as existing:
            return EnrollOutcome(existing.enrollment, created=False)
        self._lists.after_enroll(user_id, course_id)  # the caller's cached enrollment list changed
        return EnrollOutcome(enrollment, created=True)

    def my_enrollments(self, caller: Caller, *, limit: int, cursor: str | None) -> EnrollmentPage:
        """The caller's enrollments, each with its course summary and count.

        The rows from the user's cached list (one Query on a miss), the summaries from the
        item cache (the misses with one BatchGetItem per 100; without Redis, every course).
        Each course row carries its count, so counts cost no read of their own.
        """
        user_id = caller.require_user()
        scope = f"me:{user_id}"
        start_key = self._cursors.decode(scope, cursor)
        rows = self._lists.page(user_id, limit=limit, start_key=start_key)
        enrollments, next_key = rows.items, rows.next_key
        courses = self._course_reads.get_courses([e.course_id for e in enrollments], caller) if enrollments else {}
        shown = {
            course_id: course.summary()
            for course_id, cached in courses.items()
            if (course := cached.value) is not None and caller.may_see(course.status, course.instructor_id)
        }
        items = [
            EnrollmentWithCourse(
                course_id=enrollment.course_id,
                enrolled_at=enrollment.enrolled_at,
                course=shown.get(enrollment.course_id),
            )
            for enrollment in enrollments
        ]
        return EnrollmentPage(items=items, next_cursor=self._cursors.encode(scope, next_key))

    def roster(self, caller: Caller, course_id: str, *, limit: int, cursor: str | None) -> RosterPage:
        """Who is enrolled in a course: its instructor and admins only.

        One Query for a narrow course; a wide one's partitions in parallel. One signed cursor
        covers every partition: it holds the position (time, user id) of the page's last
        entry, and every partition resumes after it.
        """
        caller.require_user()
        course = self._course_reads.get_course(course_id, caller).value  # 404 for invisible courses
        if not caller.may_manage(course.instructor_id):
            raise Forbidden("Only the course's instructor or an admin may read its roster.")
        scope = f"roster:{course_id}"
        after = _position_of(self._cursors.decode(scope, cursor))
        shards = roster_width(course.enrollment_count, launch=course.launch)
        entries, last = self._enrollments.list_by_course(course_id, limit=limit, after=after, shards=shards)
        next_key = {"enrolled_at": last[0], "user_id": last[1]} if last else None
        return RosterPage(items=entries, next_cursor=self._cursors.encode(scope, next_key))


def _position_of(key: dict[str, Any] | None) -> RosterPosition | None:
    """A decoded roster cursor as a position; 400 if it is not one (it is signed, so only if we changed shape)."""
    if key is None:
        return None
    enrolled_at, user_id = key.get("enrolled_at"), key.get("user_id")
    if not isinstance(enrolled_at, str) or not isinstance(user_id, str):
        raise BadRequest("The cursor is invalid: use the next_cursor of the previous page, unchanged.")
    return (enrolled_at, user_id)
