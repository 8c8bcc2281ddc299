"""Reading courses: cache-aside over the indexes, with the visibility rules of the spec."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import TypeAdapter

from courses_api.cache.api import Cached, ListNamespace, ReadThroughCache
from courses_api.data.courses import CourseRepository
from courses_api.data.cursors import CursorCodec
from courses_api.domain.auth import Caller
from courses_api.errors import NotFound
from courses_api.models import Course, CoursePage

COURSE_ADAPTER: TypeAdapter[Course] = TypeAdapter(Course)
PAGE_ADAPTER: TypeAdapter[CoursePage] = TypeAdapter(CoursePage)

CATALOGUE = ListNamespace("catalogue")


def category_namespace(category: str) -> ListNamespace:
    """Pages of one category's published courses."""
    return ListNamespace("category", category)


def instructor_namespace(instructor_id: str) -> ListNamespace:
    """Pages of one instructor's courses (drafts included for the owner)."""
    return ListNamespace("instructor", instructor_id)


def namespaces_of(course: Course) -> list[ListNamespace]:
    """Every list a course appears in as stored (used to invalidate around a write)."""
    found = [instructor_namespace(course.instructor_id)]
    if course.status == "published":
        found += [CATALOGUE, category_namespace(course.category)]
    return found


class CourseReads:
    """Course lookups and lists, always from the cache or an index, never a Scan."""

    def __init__(self, repository: CourseRepository, cache: ReadThroughCache, cursors: CursorCodec) -> None:
        self._repository = repository
        self._cache = cache
        self._cursors = cursors

    def get_course(self, course_id: str, caller: Caller) -> Cached[Course]:
        """One course; drafts and archived courses are 404 to all but their owner and admins.

        Signed-in authors and admins skip the near cache so they always read their own writes.
        """
        skip_near = caller.is_admin or caller.is_instructor
        cached = self._cache.fetch_item(
            course_id, lambda: self._repository.get(course_id), COURSE_ADAPTER, skip_near=skip_near
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
        return self._cache.fetch_items(course_ids, self._repository.get_many, COURSE_ADAPTER, skip_near=skip_near)

    def list_published(
        self, *, category: str | None, level: str | None, limit: int, cursor: str | None
    ) -> Cached[CoursePage]:
        """Published courses, newest first, of one category (``ByCategory``) or all (``ByStatus``)."""
        scope = f"published:{category or '*'}:{level or '*'}"
        start_key = self._cursors.decode(scope, cursor)
        namespace = category_namespace(category) if category else CATALOGUE

        def load() -> CoursePage:
            items, next_key = self._repository.list_published(
                category=category, level=level, limit=limit, start_key=start_key
            )
            return CoursePage(items=items, next_cursor=self._cursors.encode(scope, next_key))

        page_key = f"level={level or '*'}|limit={limit}|cursor={cursor or ''}"
        return self._cache.fetch_list(namespace, page_key, load, PAGE_ADAPTER)

    def list_by_instructor(
        self, instructor_id: str, caller: Caller, *, limit: int, cursor: str | None
    ) -> Cached[CoursePage]:
        """An instructor's courses through ``ByInstructor``; drafts only for the owner and admins."""
        include_unpublished = caller.may_manage(instructor_id)
        visibility = "all" if include_unpublished else "published"
        scope = f"instructor:{instructor_id}:{visibility}"
        start_key = self._cursors.decode(scope, cursor)

        def load() -> CoursePage:
            items, next_key = self._repository.list_by_instructor(
                instructor_id, include_unpublished=include_unpublished, limit=limit, start_key=start_key
            )
            return CoursePage(items=items, next_cursor=self._cursors.encode(scope, next_key))

        page_key = f"{visibility}|limit={limit}|cursor={cursor or ''}"
        return self._cache.fetch_list(
            instructor_namespace(instructor_id), page_key, load, PAGE_ADAPTER, skip_near=include_unpublished
        )
