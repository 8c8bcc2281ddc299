"""What a write invalidates, from old and new images (no network)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from courses_api.cache.api import ListNamespace, NullCache
from courses_api.domain.invalidation import Invalidation, Invalidator, changed_attributes, plan_invalidation

INSTRUCTOR = ListNamespace("instructor", "i1")
CATALOGUE = ListNamespace("catalogue")
WEB = ListNamespace("category", "web")
DATA = ListNamespace("category", "data")


def row(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"course_id": "c1", "instructor_id": "i1", "category": "web", "status": "published",
                            "published_at": "2026-01-01T00:00:00Z", "title": "T", "version": 1,
                            "enrollment_count": 0}
    return {**base, **overrides}


def test_create_of_a_draft_touches_item_and_instructor_list() -> None:
    plan = plan_invalidation("c1", None, row(status="draft", published_at=None))
    assert plan == Invalidation(item_ids=("c1",), namespaces=(INSTRUCTOR,))


def test_create_published_touches_catalogue_and_category() -> None:
    assert set(plan_invalidation("c1", None, row()).namespaces) == {INSTRUCTOR, CATALOGUE, WEB}


def test_category_change_touches_old_and_new_category() -> None:
    plan = plan_invalidation("c1", row(), row(category="data", version=2))
    assert set(plan.namespaces) == {INSTRUCTOR, CATALOGUE, WEB, DATA}
    assert len(plan.namespaces) == len(set(plan.namespaces))


def test_unpublish_touches_the_lists_it_leaves() -> None:
    plan = plan_invalidation("c1", row(), row(status="draft", published_at=None, version=2))
    assert set(plan.namespaces) == {INSTRUCTOR, CATALOGUE, WEB}


def test_draft_edit_touches_only_the_instructor_list() -> None:
    plan = plan_invalidation("c1", row(status="draft"), row(status="draft", title="U", version=2))
    assert plan.namespaces == (INSTRUCTOR,)


def test_delete_touches_the_lists_it_was_in() -> None:
    assert set(plan_invalidation("c1", row(), None).namespaces) == {INSTRUCTOR, CATALOGUE, WEB}


def test_counter_only_change_drops_just_the_item() -> None:
    plan = plan_invalidation("c1", row(enrollment_count=Decimal(3)), row(enrollment_count=Decimal(4)))
    assert plan == Invalidation(item_ids=("c1",), namespaces=())


def test_counter_and_another_change_is_a_full_invalidation() -> None:
    plan = plan_invalidation("c1", row(), row(enrollment_count=1, title="U"))
    assert set(plan.namespaces) == {INSTRUCTOR, CATALOGUE, WEB}


def test_partial_images_do_not_crash() -> None:
    assert plan_invalidation("c1", {"course_id": "c1"}, {}).namespaces == ()
    assert plan_invalidation("c1", {"status": "published", "category": 5}, None).namespaces == (CATALOGUE,)


def test_changed_attributes() -> None:
    assert changed_attributes(row(), row(title="U", published_at=None)) == {"title", "published_at"}
    assert changed_attributes(None, {"a": 1}) == {"a"}


def test_merge_deduplicates() -> None:
    merged = Invalidation(("a",), (WEB,)).merge(Invalidation(("a", "b"), (WEB, DATA)))
    assert merged == Invalidation(("a", "b"), (WEB, DATA))


def test_invalidator_returns_the_plan_it_applied() -> None:
    assert Invalidator(NullCache()).after_write("c1", None, row()).item_ids == ("c1",)
