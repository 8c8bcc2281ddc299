"""Authoring courses: create, patch and delete, with optimistic locking and cache invalidation.

Every write is one conditional DynamoDB request, so authorisation, the version check and
the write are a single atomic step (no read-check-write window): a lost update is
impossible. When a condition fails, the row DynamoDB hands back with the failure
(``ReturnValuesOnConditionCheckFailure``) tells which rule was broken: absent → 404,
someone else's → 403 (404 for a course the caller may not even see), stale → 412.
Right after each committed write the item and every list it was or is in are invalidated.
"""

from __future__ import annotations

import uuid
from typing import Any

from courses_api.data.courses import ConditionFailed, CourseRepository
from courses_api.domain.auth import ADMINS, INSTRUCTORS, Caller
from courses_api.domain.invalidation import Invalidator
from courses_api.errors import Conflict, Forbidden, NotFound, PreconditionFailed
from courses_api.models import Course, CourseCreate, CoursePatch, utc_now

AUTHOR_ROLES = (INSTRUCTORS, ADMINS)


def new_course_id() -> str:
    """A random, URL-safe id (32 hex characters; matches the path id pattern)."""
    return uuid.uuid4().hex


def new_course(body: CourseCreate, *, course_id: str, instructor_id: str, now: str) -> Course:
    """The stored row of a created course: version 1, no enrollments, ``published_at`` iff published."""
    return Course(
        course_id=course_id,
        instructor_id=instructor_id,
        enrollment_count=0,
        created_at=now,
        updated_at=now,
        published_at=now if body.status == "published" else None,
        version=1,
        **body.model_dump(),
    )


def apply_patch(old: Course, changes: dict[str, Any], *, now: str) -> Course:
    """The row a successful PATCH leaves, derived exactly as the UpdateItem expression writes it."""
    data = old.model_dump() | changes | {"version": old.version + 1, "updated_at": now}
    if "status" in changes:
        data["published_at"] = (old.published_at or now) if changes["status"] == "published" else None
    return Course.model_validate(data)


def refusal(caller: Caller, course_id: str, current: Course | None, *, expected_version: int | None) -> Exception:
    """The domain error for a refused conditional write, from the row as it is now."""
    if current is None:
        return NotFound(f"No course with id {course_id!r}.")
    if not caller.may_manage(current.instructor_id):
        if current.status != "published":
            return NotFound(f"No course with id {course_id!r}.")  # drafts are invisible to others
        return Forbidden("Only the course's instructor or an admin may change it.")
    if expected_version is not None and current.version != expected_version:
        return PreconditionFailed(
            f"The course is at version {current.version}, not {expected_version}: fetch it again and retry.",
            current_version=current.version,
        )
    # The condition failed although every rule holds now: a concurrent write came and went.
    return PreconditionFailed("The course changed while this request ran: fetch it again and retry.",
                              current_version=current.version)


class CourseWrites:
    """Create, patch and delete courses for an authenticated caller."""

    def __init__(self, repository: CourseRepository, invalidator: Invalidator) -> None:
        self._repository = repository
        self._invalidator = invalidator

    def create(self, caller: Caller, body: CourseCreate) -> Course:
        """A new course owned by the caller (instructors and admins only)."""
        instructor_id = caller.require_any_group(AUTHOR_ROLES)
        course = new_course(body, course_id=new_course_id(), instructor_id=instructor_id, now=utc_now())
        try:
            self._repository.put_new(course)
        except ConditionFailed as error:  # a 128-bit id collision: practically impossible
            raise Conflict("A course with the generated id exists; retry the request.") from error
        # Also clears a negatively cached miss of this id.
        self._invalidator.after_write(course.course_id, None, course.model_dump())
        return course

    def update(self, caller: Caller, course_id: str, patch: CoursePatch, *, expected_version: int) -> Course:
        """Apply ``patch`` if the course is still at ``expected_version``; owner or admin only."""
        caller.require_user()
        changes = patch.changes()
        now = utc_now()
        owner = None if caller.is_admin else caller.user_id
        try:
            old = self._repository.update_if_version(
                course_id, changes=changes, expected_version=expected_version, now=now, owner_id=owner
            )
        except ConditionFailed as error:
            raise refusal(caller, course_id, error.current, expected_version=expected_version) from error
        new = apply_patch(old, changes, now=now)
        self._invalidator.after_write(course_id, old.model_dump(), new.model_dump())
        return new

    def delete(self, caller: Caller, course_id: str, *, expected_version: int | None) -> Course:
        """Delete the course (at ``expected_version`` when given); owner or admin only.

        Enrollments of the course are kept on purpose: they are the students' history, and
        ``GET /me/enrollments`` shows them with ``course: null``.
        """
        caller.require_user()
        owner = None if caller.is_admin else caller.user_id
        try:
            old = self._repository.delete_if(course_id, expected_version=expected_version, owner_id=owner)
        except ConditionFailed as error:
            raise refusal(caller, course_id, error.current, expected_version=expected_version) from error
        self._invalidator.after_write(course_id, old.model_dump(), None)
        return old
