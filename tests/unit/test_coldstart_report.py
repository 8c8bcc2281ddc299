"""The cold-start benchmark's bookkeeping: its JSON entry, its goal and its section of docs/BENCHMARKS.md."""

from __future__ import annotations

from typing import Any

from benchmarks import coldstart


def measurement(ours: float, naive: float, floor: float) -> dict[str, Any]:
    def spread(median: float) -> dict[str, float]:
        return {"median": median, "min": median - 5, "p25": median - 1, "p75": median + 1, "max": median + 9}

    return {
        "function": "get_course", "runs": 7, "python": "3.13.0", "runtime_python": True, "load_average_1m": 1.0,
        "ours_median_ms": ours, "naive_median_ms": naive, "floor_median_ms": floor,
        "ours_spread_ms": spread(ours), "naive_spread_ms": spread(naive), "floor_spread_ms": spread(floor),
        "ours_cpu_spread_ms": spread(ours - 40), "naive_cpu_spread_ms": spread(naive - 40),
        "floor_cpu_spread_ms": spread(floor - 40),
        "ratio": round(ours / naive, 2), "floor_ratio": round(floor / naive, 2),
        "imports": [{"package": "pydantic", "ms": 30.0}],
    }


def test_the_json_entry_names_the_python_it_was_measured_on() -> None:
    assert coldstart.summary(measurement(280, 200, 260)) == {"ours": 280, "naive": 200, "python": "3.13.0"}


def test_the_goal_needs_both_the_absolute_and_the_relative_bound() -> None:
    assert coldstart.goal_met(measurement(290, 200, 250))
    assert not coldstart.goal_met(measurement(310, 250, 250))  # over 300 ms
    assert not coldstart.goal_met(measurement(290, 150, 250))  # over 1.5 x naive


def test_a_missed_goal_says_by_how_much_and_what_the_frameworks_take() -> None:
    section = coldstart.markdown_section(measurement(350, 200, 330))

    assert "**missed**" in section
    assert "misses by 50 ms against 300 ms and by 50 ms against 1.5 x naive" in section
    assert "take 290 ms = 1.81 x naive" in section  # by CPU time: 330 - 40 over 200 - 40
    assert "the layer's own code adds 20 ms above the floor, so 1.5 x naive is out of reach" in section


def test_the_section_is_replaced_in_place_and_nothing_else_changes() -> None:
    document = "# Benchmarks\n\n## Cache mechanics\n\nx\n\n## Where the best tier's units go\n\ny\n"
    first = coldstart.replace_section(document, "## Cold start\n\nold\n")
    second = coldstart.replace_section(first, "## Cold start\n\nnew\n")

    assert second == ("# Benchmarks\n\n## Cache mechanics\n\nx\n\n## Cold start\n\nnew\n\n"
                      "## Where the best tier's units go\n\ny\n")
