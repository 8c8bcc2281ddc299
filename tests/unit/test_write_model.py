"""The write benchmark's sizing rules: which writes an item change causes, and their units."""

from __future__ import annotations

from pathlib import Path

from benchmarks.writes import (
    SECTION_BEGIN,
    IndexSpec,
    TableSpec,
    counter_writes,
    item_writes,
    update_document,
    write_units,
)

COURSES = TableSpec("Courses", "course_id", None, (
    IndexSpec("ByStatus", "status", "published_at", "INCLUDE", ("title", "enrollment_count")),
    IndexSpec("ByCategory", "category", "published_at", "INCLUDE", ("title",)),
))


def course(count: int, **extra: str) -> dict[str, dict[str, str]]:
    item = {"course_id": {"S": "c1"}, "status": {"S": "published"}, "published_at": {"S": "2026-01-01"},
            "category": {"S": "web"}, "title": {"S": "T"}, "description": {"S": "d" * 1500},
            "enrollment_count": {"N": str(count)}}
    item.update({name: {"S": value} for name, value in extra.items()})
    return item


def test_write_units_round_each_started_kilobyte_up() -> None:
    assert (write_units(0), write_units(1024), write_units(1025), write_units(4000)) == (1, 1, 2, 4)


def test_a_projected_counter_writes_the_item_and_the_index_that_projects_it() -> None:
    writes = item_writes(COURSES, course(1), course(2), transactional=True)
    # the 1.5 KB item costs 2 units, twice in a transaction; ByStatus carries the count, ByCategory does not
    assert [(w.target, w.partition, w.wcu) for w in writes] == [
        ("Courses (table)", "c1", 4), ("Courses.ByStatus", "published", 1)]


def test_an_index_key_change_deletes_one_entry_and_puts_another() -> None:
    writes = item_writes(COURSES, course(1), course(1, category="data"), transactional=False)
    assert [(w.target, w.partition) for w in writes] == [
        ("Courses (table)", "c1"), ("Courses.ByCategory", "web"), ("Courses.ByCategory", "data")]


def test_a_new_item_outside_every_index_writes_only_itself() -> None:
    shard = {"course_id": {"S": "c1#enrollments#07"}, "enrollment_count": {"N": "1"}}
    writes = item_writes(COURSES, None, shard, transactional=True)
    assert [(w.target, w.partition, w.wcu) for w in writes] == [("Courses (table)", "c1#enrollments#07", 2)]


def test_the_writes_section_replaces_only_itself(tmp_path: Path) -> None:
    document = tmp_path / "BENCHMARKS.md"
    document.write_text("# Benchmarks\n\nread side\n", encoding="utf-8")
    update_document("## Writes\nsecond", document)
    update_document("## Writes\nthird", document)
    text = document.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nread side\n")
    assert text.count(SECTION_BEGIN) == 1
    assert "third" in text
    assert "second" not in text


def test_a_launch_course_is_written_once_per_stream_shard_and_window() -> None:
    result = counter_writes({"launch": 10_000.0}, {"launch": 3}, stream_shards=64, window_s=60)
    # 64 shards each see the launch course in every window: 64 writes a minute
    assert result["count_writes_per_s"] == round(64 / 60, 1)
    # each a transaction of the 3 KB row and a small mark: 2 x (3 + 1) units
    assert result["busiest_course_row_wcu_per_s"] == round(64 / 60 * 2 * 4, 1)


def test_a_long_tail_course_is_written_about_once_per_enrollment() -> None:
    rates = {f"c{n}": 0.001 for n in range(1000)}
    result = counter_writes(rates, dict.fromkeys(rates, 3), stream_shards=4, window_s=60)
    assert 0.95 < result["count_writes_per_enrollment"] <= 1
