"""Reading courses: cache-aside over the indexes, with the visibility rules of the spec.

Enrollment counts: a course row carries its count (written from the Enrollments stream,
see :mod:`courses_api.data.enrollment_counts`), so the read that fills a course's entry
fills its count, and the invalidation a count change triggers (an ordinary row change)
refreshes it.

A list page is cached as the ids it lists (and its cursor); the courses come from their
own item entries, the same ones ``GET /courses/{id}`` serves. So a list shows exactly what
the item shows, counts included, an edit that moves no course needs no new page, and the
list indexes hold only keys and the attribute a list filters on (a page read costs about
100 bytes per entry; writing a count writes no index partition).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter

from courses_api.cache.api import Cached, EventualRead, ListNamespace, ReadThroughCache
from courses_api.data.courses import CourseRepository
from courses_api.data.cursors import CursorCodec
from courses_api.domain.auth import Caller
from courses_api.errors import NotFound
from courses_api.models import Course, CoursePage


class CourseIdPage(BaseModel):
    """A list page as cached: the ids it lists, in order, and the raw key of the next page.

    The key, not a signed cursor: each response signs it with the current secret, so a page
    filled before a secret rotation (or by another deploy) never hands out a cursor that the
    code serving it rejects.
    """

    course_ids: list[str]
    next_key: dict[str, Any] | None = None


def position_of(start_key: dict[str, Any] | None) -> str:
    """A page's place in its list, for its cache key: the decoded start key, not the cursor
    text, so cursors signed with different secrets share one entry."""
    return json.dumps(start_key, sort_keys=True, separators=(",", ":")) if start_key else ""


COURSE_ADAPTER: TypeAdapter[Course] = TypeAdapter(Course)
PAGE_ADAPTER: TypeAdapter[CourseIdPage] = TypeAdapter(CourseIdPage)

CATALOGUE = ListNamespace("catalogue")


def category_namespace(category: str) -> ListNamespace:
    """Pages of one category's published courses."""
    return ListNamespace("category", category)


def instructor_namespace(instructor_id: str) -> ListNamespace:
    """Pages of one instructor's courses (drafts included for the owner)."""
    return ListNamespace("instructor", instructor_id)


def course_version(course: Course) -> int:
    """What a course's version fence is compared with."""
    return course.version


class CourseReads:
    """Course lookups and lists, always from the cache or an index, never a Scan."""

    def __init__(self, repository: CourseRepository, cache: ReadThroughCache, cursors: CursorCodec) -> None:
        self._repository = repository
        self._cache = cache
        self._cursors = cursors

    def get_course(self, course_id: str, caller: Caller) -> Cached[Course]:
        """One course; drafts and archived courses are 404 to all but their owner and admins.

        Signed-in authors and admins skip the near cache so they always read their own writes.
        A miss reads eventually consistently (half the read units) behind the version fence.
        """
        skip_near = caller.is_admin or caller.is_instructor
        eventual = EventualRead(lambda: self._repository.get(course_id, consistent=False), course_version)
        cached = self._cache.fetch_item(
            course_id, lambda: self._repository.get(course_id), COURSE_ADAPTER, skip_near=skip_near, eventual=eventual
        )
        course = cached.value
        if course is None or not caller.may_see(course.status, course.instructor_id):
            raise NotFound(f"No course with id {course_id!r}.")
        return Cached(course, cached.outcome)

    def get_courses(self, course_ids: Sequence[str], caller: Caller) -> dict[str, Cached[Course | None]]:
        """Many courses through the item cache (the same entries as ``get_course``), with no
        visibility rule applied; the misses are read with one BatchGetItem per 100 ids.

        Authors and admins skip the near cache, as in ``get_course``.
        """
        skip_near = caller.is_admin or caller.is_instructor
        return self._cache.fetch_items(
            course_ids, self._repository.get_many, COURSE_ADAPTER, skip_near=skip_near, version=course_version
        )

    def list_published(
        self, *, category: str | None, level: str | None, limit: int, cursor: str | None
    ) -> Cached[CoursePage]:
        """Published courses, newest first, of one category (``ByCategory``) or all (``ByStatus``)."""
        scope = f"published:{category or '*'}:{level or '*'}"
        start_key = self._cursors.decode(scope, cursor)
        namespace = category_namespace(category) if category else CATALOGUE

        def load() -> CourseIdPage:
            ids, next_key = self._repository.list_published(
                category=category, level=level, limit=limit, start_key=start_key
            )
            return CourseIdPage(course_ids=ids, next_key=next_key)

        page_key = f"level={level or '*'}|limit={limit}|after={position_of(start_key)}"
        cached = self._cache.fetch_list(namespace, page_key, load, PAGE_ADAPTER)
        return self._page_of(cached, scope, skip_near=False, include_unpublished=False)

    def list_by_instructor(
        self, instructor_id: str, caller: Caller, *, limit: int, cursor: str | None
    ) -> Cached[CoursePage]:
        """An instructor's courses through ``ByInstructor``; drafts only for the owner and admins."""
        include_unpublished = caller.may_manage(instructor_id)
        visibility = "all" if include_unpublished else "published"
        scope = f"instructor:{instructor_id}:{visibility}"
        start_key = self._cursors.decode(scope, cursor)

        def load() -> CourseIdPage:
            ids, next_key = self._repository.list_by_instructor(
                instructor_id, include_unpublished=include_unpublished, limit=limit, start_key=start_key
            )
            return CourseIdPage(course_ids=ids, next_key=next_key)

        page_key = f"{visibility}|limit={limit}|after={position_of(start_key)}"
        cached = self._cache.fetch_list(
            instructor_namespace(instructor_id), page_key, load, PAGE_ADAPTER, skip_near=include_unpublished
        )
        return self._page_of(cached, scope, skip_near=include_unpublished, include_unpublished=include_unpublished)

    def _page_of(
        self, cached: Cached[CourseIdPage], scope: str, *, skip_near: bool, include_unpublished: bool
    ) -> Cached[CoursePage]:
        """The listed courses' summaries, from their item entries, in the page's order.

        The entries missing are read together (BatchGetItem, eventually consistent behind
        their fences) and stay cached for the item requests that follow. A course deleted,
        or no longer published where only published ones are listed, since the page was
        filled is left out (its write invalidated the page too; the item is the truth).
        """
        page = cached.value
        courses = self._cache.fetch_items(
            page.course_ids, self._repository.get_many, COURSE_ADAPTER, skip_near=skip_near, version=course_version
        ) if page.course_ids else {}
        items = [
            course.summary()
            for course_id in page.course_ids
            if (course := courses[course_id].value) is not None
            and (include_unpublished or course.status == "published")
        ]
        return Cached(CoursePage(items=items, next_cursor=self._cursors.encode(scope, page.next_key)), cached.outcome)
