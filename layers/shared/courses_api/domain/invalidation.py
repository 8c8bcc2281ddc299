"""What a committed course write makes stale, computed from the row's old and new images.

One function decides it for both invalidation paths, so they cannot disagree: the write
services call it right after their write commits (with the images they wrote), and the
stream invalidator calls it with the ``OldImage``/``NewImage`` of each stream record (the
backstop for writes made elsewhere and for invalidations lost while Redis was down).

The rule: the item key always; plus every list the row was in *or* is now in (instructor,
and while published the catalogue and its category), so a course that changes category,
is unpublished or deleted disappears from the old lists and appears in the new ones.
A change of ``enrollment_count`` alone (a course row's base count, written only by seeding
or tooling: enrollments add to count shards, see ``domain.enrollment_counts``) only drops
the item: the lists merge counts from the count cache, never from the pages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from courses_api.cache.api import ListNamespace, ReadThroughCache
from courses_api.domain.course_reads import CATALOGUE, category_namespace, instructor_namespace
from courses_api.observability import logger

Image = Mapping[str, Any]

# Attributes whose change alone does not move a course in or out of, or within, any list.
COUNTER_ATTRIBUTES = frozenset({"enrollment_count"})


@dataclass(frozen=True, slots=True)
class Invalidation:
    """Item keys to drop and list namespaces whose generation to bump."""

    item_ids: tuple[str, ...]
    namespaces: tuple[ListNamespace, ...]

    def merge(self, other: Invalidation) -> Invalidation:
        """Both invalidations, without duplicates (order kept, for readable logs)."""
        return Invalidation(
            item_ids=_unique((*self.item_ids, *other.item_ids)),
            namespaces=_unique((*self.namespaces, *other.namespaces)),
        )


def _unique(values: Iterable[Any]) -> tuple[Any, ...]:
    return tuple(dict.fromkeys(values))


def _text(image: Image, name: str) -> str | None:
    value = image.get(name)
    return value if isinstance(value, str) and value else None


def list_namespaces_of(image: Image | None) -> list[ListNamespace]:
    """The lists a stored row appears in; tolerant of partial images (e.g. a stray item)."""
    if not image:
        return []
    found: list[ListNamespace] = []
    instructor_id = _text(image, "instructor_id")
    if instructor_id:
        found.append(instructor_namespace(instructor_id))
    if image.get("status") == "published":
        found.append(CATALOGUE)
        category = _text(image, "category")
        if category:
            found.append(category_namespace(category))
    return found


def changed_attributes(old: Image | None, new: Image | None) -> frozenset[str]:
    """Names of attributes added, removed or changed between two images."""
    before, after = old or {}, new or {}
    return frozenset(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))


def plan_invalidation(course_id: str, old: Image | None, new: Image | None) -> Invalidation:
    """What to invalidate after ``old`` became ``new`` (``None`` = absent: created or deleted)."""
    items = (course_id,)
    if old is not None and new is not None and changed_attributes(old, new) <= COUNTER_ATTRIBUTES:
        return Invalidation(item_ids=items, namespaces=())
    namespaces = _unique((*list_namespaces_of(old), *list_namespaces_of(new)))
    return Invalidation(item_ids=items, namespaces=namespaces)


class Invalidator:
    """Applies invalidation plans to the cache right after a committed write.

    ``ReadThroughCache.invalidate`` never raises (a Redis outage must not fail a write whose
    data is already committed); what it could not do, the stream invalidator redoes.
    """

    def __init__(self, cache: ReadThroughCache) -> None:
        self._cache = cache

    def after_write(self, course_id: str, old: Image | None, new: Image | None) -> Invalidation:
        """Invalidate what the write of ``course_id`` made stale; returns the plan applied."""
        plan = plan_invalidation(course_id, old, new)
        self.apply(plan)
        return plan

    def apply(self, plan: Invalidation) -> None:
        """Drop the items and bump the namespaces of ``plan``."""
        self._cache.invalidate(plan.item_ids, plan.namespaces)
        logger.debug(
            "invalidated",
            extra={"items": list(plan.item_ids), "namespaces": [f"{n.kind}:{n.partition}" for n in plan.namespaces]},
        )
