"""``make bench-writes`` in miniature: the three designs replayed through the write path, one report."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.writes import main


def test_every_design_is_replayed_and_settles(tmp_path: Path) -> None:
    output = tmp_path / "writes.json"
    main(["--courses", "60", "--launch-samples", "40", "--background-samples", "40", "--seeds", "14",
          "--output", str(output)])
    report = json.loads(output.read_text())
    assert report["model"]["partition_wcu_per_s"] == 1000
    before, after = report["designs"]["before"], report["designs"]["after"]
    # every enrollment wrote the catalogue's one ByStatus partition before; none does after
    assert before["busiest_by_target"]["Courses.ByStatus"]["partition"] == "published"
    assert before["busiest_by_target"]["Courses.ByStatus"]["wcu_per_s"] >= 60_000
    assert "Courses.ByStatus" not in after["busiest_by_target"]
    # the launch course's row took every launch transaction before; after, no item is in a transaction
    assert before["busiest_item_transactions_per_s"] >= 10_000
    assert after["busiest_item_transactions_per_s"] == 0
    assert after["transaction_conflicts"] == 0
    # the enrollment row and its ByCourse entry: 2 write units, half the transaction's table writes
    assert after["write_units_per_enrollment"] <= 2
    assert before["errors"] == after["errors"] == 0
    # unannounced, the launch's first enrollments all write one ByCourse partition; declared, none does
    unannounced = report["designs"]["unannounced"]
    first_seconds = unannounced["busiest_second_by_target"]["Enrollments.ByCourse"]
    assert first_seconds["partition"] == "<launch course>#00"
    assert after["busiest_second_by_target"]["Enrollments.ByCourse"]["wcu"] * 5 < first_seconds["wcu"]
    assert report["spread"]["seeds"] == [14]
    assert report["spread"]["after"]["busiest_partition_second_wcu"] == [after["busiest_partition_second_wcu"]]
    # once the replay is over (and the counter has run), the count and the roster agree in every design
    for design in ("before", "unannounced", "after"):
        settled = report["settled"][design]
        assert settled["count"] == settled["roster_rows"] == settled["sampled_launch_enrollments"] == 40
    # the counter writes each course once per stream shard and window: no hot row
    counter = report["counter"]
    assert counter["window_s"] == 60
    assert counter["stream_shards"] >= 1
    assert 0 < counter["count_writes_per_enrollment"] <= 1
    assert 0 < counter["launch_course_row_wcu_per_s"] < 1000
