"""Each user's enrollment list, cached: a warm ``GET /me/enrollments`` reads Redis only.

One list namespace per user (``me``/<user id>) holds the pages of their enrollment rows
(course summaries come from the item cache, so a course edit never touches these pages).
An enrollment bumps the user's generation right after it commits, and the Enrollments
stream does it again as the backstop. While that bump's fence stands a miss reads the
``Query`` strongly consistently, so a page filled under the new generation holds the new
enrollment; otherwise eventually consistently, at half the read units. The near cache is
skipped: the user reads their own enrollment at once, whichever container serves them next.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, TypeAdapter

from courses_api.cache.api import ListNamespace, ReadThroughCache
from courses_api.models import Enrollment

if TYPE_CHECKING:
    from courses_api.data.enrollments import EnrollmentRepository


class EnrollmentRows(BaseModel):
    """One page of a user's enrollments as stored: the rows and the key to resume after."""

    items: list[Enrollment]
    next_key: dict[str, Any] | None = None


ROWS_ADAPTER: TypeAdapter[EnrollmentRows] = TypeAdapter(EnrollmentRows)


def enrollment_write_id(user_id: str, course_id: str) -> str:
    """The name of one enrollment's creation: the enroll path and the stream's INSERT record bump
    the user's list once between them, so a page filled after the enrollment survives the stream."""
    return f"enrolled:{user_id}:{course_id}"


def my_enrollments_namespace(user_id: str) -> ListNamespace:
    """The pages of one user's enrollment list (loaded by a strongly consistent Query)."""
    return ListNamespace("me", user_id, consistent_reads=True)


class EnrollmentLists:
    """Pages of a user's enrollments through the cache (one strongly consistent Query per miss)."""

    def __init__(self, source: EnrollmentRepository, cache: ReadThroughCache) -> None:
        self._source = source
        self._cache = cache

    def page(self, user_id: str, *, limit: int, start_key: dict[str, Any] | None) -> EnrollmentRows:
        def load(*, consistent: bool = True) -> EnrollmentRows:
            rows = self._source.list_by_user(user_id, limit=limit, start_key=start_key, consistent=consistent)
            return EnrollmentRows(items=rows[0], next_key=rows[1])

        page_key = f"limit={limit}|after={json.dumps(start_key, sort_keys=True) if start_key else ''}"
        return self._cache.fetch_list(my_enrollments_namespace(user_id), page_key, load, ROWS_ADAPTER, skip_near=True,
                                      eventual=lambda: load(consistent=False)).value

    def after_enroll(self, user_id: str, course_id: str) -> bool:
        """Bump the user's list after their enrollment committed; whether Redis took it."""
        namespaces = (my_enrollments_namespace(user_id),)
        return self._cache.invalidate((), namespaces, write_id=enrollment_write_id(user_id, course_id))
