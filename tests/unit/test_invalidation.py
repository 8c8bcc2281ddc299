"""What a write invalidates, from old and new images (no network)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from courses_api.cache.api import FENCE_GONE, FENCE_UNKNOWN, ListNamespace, NullCache, fence_admits
from courses_api.domain.invalidation import (
    Invalidation,
    Invalidator,
    changed_attributes,
    fence_of,
    plan_invalidation,
)

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
    assert plan == Invalidation(item_ids=("c1",), namespaces=(INSTRUCTOR,), fences=(("c1", "1"),), write_id="c1@1")


def test_create_published_touches_catalogue_and_category() -> None:
    assert set(plan_invalidation("c1", None, row()).namespaces) == {INSTRUCTOR, CATALOGUE, WEB}


def test_category_change_touches_old_and_new_category() -> None:
    plan = plan_invalidation("c1", row(), row(category="data", version=2))
    assert set(plan.namespaces) == {INSTRUCTOR, CATALOGUE, WEB, DATA}
    assert len(plan.namespaces) == len(set(plan.namespaces))


def test_unpublish_touches_the_lists_it_leaves() -> None:
    plan = plan_invalidation("c1", row(), row(status="draft", published_at=None, version=2))
    assert set(plan.namespaces) == {INSTRUCTOR, CATALOGUE, WEB}


def test_draft_level_change_touches_only_the_instructor_list() -> None:
    plan = plan_invalidation("c1", row(status="draft"), row(status="draft", level="advanced", version=2))
    assert plan.namespaces == (INSTRUCTOR,)


def test_an_edit_that_moves_no_course_drops_just_the_item() -> None:
    # list pages hold ids: a new title or price shows through the item entry alone
    plan = plan_invalidation("c1", row(), row(title="U", price=Decimal("9.99"), version=2))
    assert plan == Invalidation(item_ids=("c1",), namespaces=(), fences=(("c1", "2"),))


def test_delete_touches_the_lists_it_was_in() -> None:
    assert set(plan_invalidation("c1", row(), None).namespaces) == {INSTRUCTOR, CATALOGUE, WEB}


def test_counter_only_change_drops_just_the_item() -> None:
    plan = plan_invalidation("c1", row(enrollment_count=Decimal(3)), row(enrollment_count=Decimal(4)))
    assert plan == Invalidation(item_ids=("c1",), namespaces=(), fences=(("c1", FENCE_UNKNOWN),))


def test_a_count_written_by_the_counter_drops_just_the_item_and_no_eventually_consistent_fill_passes() -> None:
    before = row(enrollment_count=Decimal(2))
    after = row(enrollment_count=Decimal(5))
    plan = plan_invalidation("c1", before, after)
    assert plan == Invalidation(item_ids=("c1",), namespaces=(), fences=(("c1", FENCE_UNKNOWN),))


def test_a_change_that_can_move_the_course_is_a_full_invalidation() -> None:
    for change in ({"published_at": "2026-02-01T00:00:00Z"}, {"instructor_id": "i2"}, {"level": "advanced"}):
        plan = plan_invalidation("c1", row(), row(enrollment_count=1, **change))
        assert set(plan.namespaces) >= {INSTRUCTOR, CATALOGUE, WEB}, change


def test_partial_images_do_not_crash() -> None:
    assert plan_invalidation("c1", {"course_id": "c1"}, {}).namespaces == ()
    assert plan_invalidation("c1", {"status": "published", "category": 5}, None).namespaces == (CATALOGUE,)


def test_changed_attributes() -> None:
    assert changed_attributes(row(), row(title="U", published_at=None)) == {"title", "published_at"}
    assert changed_attributes(None, {"a": 1}) == {"a"}


def test_invalidator_returns_the_plan_it_applied() -> None:
    assert Invalidator(NullCache()).after_write("c1", None, row()).item_ids == ("c1",)


# ---------------------------------------------------------------- version fences


def test_fence_is_the_committed_version_when_it_moved() -> None:
    assert fence_of(None, row(version=1)) == "1"
    assert fence_of(row(version=Decimal(4)), row(version=Decimal(5))) == "5", "stream images carry Decimals"
    assert fence_of(row(), None) == FENCE_GONE
    assert fence_of(row(version=3), row(version=3, enrollment_count=9)) == FENCE_UNKNOWN, "a counter update"
    assert fence_of(row(), {"course_id": "c1"}) == FENCE_UNKNOWN, "no version in the new image"


def test_fence_admits_only_rows_at_least_as_new() -> None:
    def version(value: dict[str, int]) -> int:
        return value["version"]

    assert fence_admits(None, {"version": 1}, version), "no fence left: replica lag is over"
    assert fence_admits("5", {"version": 5}, version)
    assert fence_admits("5", {"version": 6}, version)
    assert not fence_admits("5", {"version": 4}, version), "a replica behind the write"
    assert not fence_admits("5", None, version), "a replica that has not seen the create"
    assert fence_admits(FENCE_GONE, None, version)
    assert not fence_admits(FENCE_GONE, {"version": 9}, version), "a replica that has not seen the delete"
    assert not fence_admits(FENCE_UNKNOWN, {"version": 9}, version)


def test_a_write_is_named_by_its_course_and_committed_version() -> None:
    """The write path and the stream plan the same write from the same images: same name."""
    moved = plan_invalidation("c1", row(version=1), row(version=2, category="data"))
    assert moved.write_id == "c1@2"
    assert plan_invalidation("c1", row(version=2), None).write_id == f"c1@{FENCE_GONE}"
    assert plan_invalidation("c1", row(version=3), row(version=3, status="archived")).write_id is None


def test_an_enrollment_is_one_write_for_the_enroll_path_and_its_stream_record() -> None:
    """The enroll path bumps the user's list with the enrollment's name; the stream's INSERT of
    the same row carries the same name (so it bumps nothing again), a REMOVE carries none."""
    from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord

    from courses_api.domain.enrollment_lists import enrollment_write_id
    from courses_api.domain.stream_invalidation import plan_for_record

    def record(event: str) -> DynamoDBRecord:
        keys = {"user_id": {"S": "u1"}, "course_id": {"S": "c1"}}
        return DynamoDBRecord({"eventName": event, "dynamodb": {"Keys": keys, "SequenceNumber": "1"}})

    assert plan_for_record(record("INSERT")).write_id == enrollment_write_id("u1", "c1")
    assert plan_for_record(record("REMOVE")).write_id is None
    assert plan_for_record(record("INSERT")).namespaces == (ListNamespace("me", "u1"),)
