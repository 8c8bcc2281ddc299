"""What a committed course write makes stale, computed from the row's old and new images.

One function decides it for both invalidation paths, so they cannot disagree: the write
services call it right after their write commits (with the images they wrote), and the
stream invalidator calls it with the ``OldImage``/``NewImage`` of each stream record (the
backstop for writes made elsewhere and for invalidations lost while Redis was down).

The rule: the item key always; plus, when the write can change which courses a list holds
or their order, every list the row was in *or* is now in (instructor, and while published
the catalogue and its category), so a course that changes category, is unpublished or
deleted disappears from the old lists and appears in the new ones. List pages hold course
ids only (the courses come from their item entries), so a change of anything else (a
title, a price, a count) drops the item alone.
Each dropped item keeps a version fence (see ``cache.api``): the committed version when the
new image carries a newer one, ``gone`` after a delete, and "unknown" when the version did
not move (a counter update), so a fill read eventually consistently from a replica that has
not seen the write yet is never stored, and the second delivery of one write is a no-op.
A count written by the enrollment counter (see ``data.enrollment_counts``) is such a
change: an enrollment invalidates no list.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from courses_api.cache.api import (
    FENCE_GONE,
    FENCE_UNKNOWN,
    ListNamespace,
    ReadThroughCache,
    version_fence,
)
from courses_api.domain.course_reads import CATALOGUE, category_namespace, instructor_namespace
from courses_api.observability import logger

Image = Mapping[str, Any]

# What decides whether, and where, a course is in a list: the list indexes' keys, the
# attributes lists filter on, and the table key (see template.yaml).
LIST_ATTRIBUTES = frozenset({"course_id", "status", "category", "level", "instructor_id", "published_at", "created_at"})


@dataclass(frozen=True, slots=True)
class Invalidation:
    """Item keys to drop and list namespaces whose generation to bump.

    ``write_id`` names the write (the course and the version it committed, or its deletion):
    the write path and the stream compute the same one from the same images, so the second of
    the two bumps no list again (see ``ReadThroughCache.invalidate``).
    """

    item_ids: tuple[str, ...]
    namespaces: tuple[ListNamespace, ...]
    fences: tuple[tuple[str, str], ...] = ()  # (item id, fence); items without one get "unknown"
    write_id: str | None = None


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


def _version(image: Image | None) -> int | None:
    value = (image or {}).get("version")
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    return int(value)


def fence_of(old: Image | None, new: Image | None) -> str:
    """The version fence a write from ``old`` to ``new`` leaves on its item."""
    if new is None:
        return FENCE_GONE
    committed, previous = _version(new), _version(old)
    if committed is not None and (old is None or previous is None or committed > previous):
        return version_fence(committed)
    return FENCE_UNKNOWN  # the version did not move: a fill cannot be told apart by it


def plan_invalidation(course_id: str, old: Image | None, new: Image | None) -> Invalidation:
    """What to invalidate after ``old`` became ``new`` (``None`` = absent: created or deleted)."""
    items = (course_id,)
    fence = fence_of(old, new)
    fences = ((course_id, fence),)
    if old is not None and new is not None and not changed_attributes(old, new) & LIST_ATTRIBUTES:
        return Invalidation(item_ids=items, namespaces=(), fences=fences)
    namespaces = _unique((*list_namespaces_of(old), *list_namespaces_of(new)))
    write_id = None if fence == FENCE_UNKNOWN else f"{course_id}@{fence}"
    return Invalidation(item_ids=items, namespaces=namespaces, fences=fences, write_id=write_id)


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

    def apply(self, plan: Invalidation) -> bool:
        """Drop the items and bump the namespaces of ``plan``; whether the cache took it."""
        delivered = self._cache.invalidate(plan.item_ids, plan.namespaces, fences=dict(plan.fences),
                                           write_id=plan.write_id)
        logger.debug(
            "invalidated",
            extra={"items": list(plan.item_ids), "namespaces": [f"{n.kind}:{n.partition}" for n in plan.namespaces]},
        )
        return delivered
