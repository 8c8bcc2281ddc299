"""Smoke test of ``make bench``: the whole benchmark in ``--quick`` mode, and the shape of its JSON.

It runs the naive Scan reference (hence ``allow_scan``) besides the product tiers, and
checks that only the reference scanned.
"""

from __future__ import annotations

import json
import math
import os
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TIERS = {"scan_baseline", "gsi", "gsi_redis", "gsi_redis_near"}
TOP_LEVEL = {"dataset", "workload", "tiers", "hit_latency_ms", "stampede", "redis_outage", "cold_start_ms",
             "read_floor", "staleness_after_write_s", "production_pace", "usd_per_million_whole_bill",
             "hot_course_reads", "cold_start_artifact_ms"}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    """One quick run for the module; the benchmark sets table names and endpoints, so restore the env."""
    saved = dict(os.environ)
    output = tmp_path_factory.mktemp("bench")
    # The benchmark starts a Redis of its own, as `make bench` from a shell sees no REDIS_*: the
    # session's stand-in settings (cluster mode, its user and password) are not for that one.
    for name in [name for name in os.environ if name.startswith("REDIS_")]:
        del os.environ[name]
    try:
        from benchmarks.run import main

        main(["--quick", "--no-docs", "--no-progress", "--output", str(output)])
    finally:
        os.environ.clear()
        os.environ.update(saved)
    results = json.loads((output / "latest.json").read_text())
    details = json.loads((output / "latest-details.json").read_text())
    return results, details


@pytest.mark.allow_scan
@pytest.mark.slow
def test_quick_benchmark_writes_the_documented_shape(quick_run: tuple[dict[str, Any], dict[str, Any]]) -> None:
    results, _ = quick_run
    assert set(results) == TOP_LEVEL
    assert set(results["tiers"]) == TIERS
    for tier, figures in results["tiers"].items():
        assert set(figures) == {"rcu_per_1000_requests", "hit_ratio", "latency_ms", "usd_per_million_requests"}, tier
        assert set(figures["latency_ms"]) == {"p50", "p95", "p99"}
        assert all(_number(v) for v in figures["latency_ms"].values()), tier
        assert figures["latency_ms"]["p50"] <= figures["latency_ms"]["p95"] <= figures["latency_ms"]["p99"]
        assert _number(figures["rcu_per_1000_requests"])
        assert figures["rcu_per_1000_requests"] >= 0
        assert 0 <= figures["hit_ratio"] <= 1
        assert _number(figures["usd_per_million_requests"])
        assert figures["usd_per_million_requests"] > 0
    assert set(results["hit_latency_ms"]) == {"near", "redis", "bare_redis_get"}
    for figures in results["hit_latency_ms"].values():
        assert set(figures) == {"p50", "p99"}
        assert all(_number(v) for v in figures.values())
    assert results["stampede"]["concurrent_misses"] == 64
    assert isinstance(results["stampede"]["db_reads"], int)
    assert results["stampede"]["db_reads"] >= 1
    assert set(results["redis_outage"]) == {"p99_ms", "db_only_p99_ms"}
    assert all(_number(v) for v in results["redis_outage"].values())
    assert set(results["cold_start_ms"]) == {"ours", "naive", "python"}
    assert all(_number(results["cold_start_ms"][k]) and results["cold_start_ms"][k] > 0 for k in ("ours", "naive"))
    assert results["cold_start_ms"]["python"].count(".") == 2
    # A quick run skips sam build and the emulator; the key keeps its shape
    assert set(results["cold_start_artifact_ms"]) == {"ours", "naive", "bytecode_shipped"}
    floor = results["read_floor"]
    assert set(floor) == {"rcu_per_item_miss", "me_enrollments_warm_db_reads", "hit_ratio_vs_ideal",
                          "stale_values_stored_lagging_replica"}
    assert all(_number(v) for v in floor.values())
    assert set(results["staleness_after_write_s"]) == {"item", "list", "item_no_near", "list_no_near"}
    for figures in results["staleness_after_write_s"].values():
        assert set(figures) == {"p50", "p99", "max"}
        assert 0 <= figures["p50"] <= figures["p99"] <= figures["max"]


@pytest.mark.allow_scan
@pytest.mark.slow
def test_read_floor_figures_of_the_quick_run(quick_run: tuple[dict[str, Any], dict[str, Any]]) -> None:
    results, details = quick_run
    floor = results["read_floor"]
    # Warm, GET /me/enrollments reads Redis only; fenced fills stored nothing stale
    assert floor["me_enrollments_warm_db_reads"] == 0
    cold = details["read_floor"]["me_enrollments"]["cold_calls"]
    assert cold["Query"] == 1, cold  # and one BatchGetItem for the courses, each row with its count
    assert set(cold) == {"Query", "BatchGetItem"}, cold
    assert floor["stale_values_stored_lagging_replica"] == 0
    # An item miss of a small course is one eventually consistent read of its row (count included)
    assert floor["rcu_per_item_miss"] == 0.5
    # Near the ideal of its own trace; a page refreshed ahead of its expiry (a read, not a miss) may
    # even pass it slightly, since the ideal lets every key expire at the end of its window
    assert 0.8 < floor["hit_ratio_vs_ideal"] <= 1.05


@pytest.mark.allow_scan
@pytest.mark.slow
def test_virtual_time_replays_repeat_and_reach_the_compulsory_bound(
    quick_run: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    results, details = quick_run
    assert set(results["production_pace"]) == {"100", "1000"}
    for figures in results["production_pace"].values():
        assert set(figures) == {"rcu_ratio_to_scan", "hit_ratio", "hit_ratio_vs_compulsory"}
        assert 0 < figures["rcu_ratio_to_scan"] < 1
        # Nothing expires within the replay (TTL 1 h), so only each key's first request may miss
        assert figures["hit_ratio_vs_compulsory"] == 1.0
    paces = details["production_pace"]["paces"]
    # Same trace, same virtual clock: the second replay at 100/s moves no figure but wall-clock latency
    assert paces["100"]["replays"] == 2
    assert paces["100"]["identical_across_replays"] is True
    assert paces["100"]["virtual_span_s"] > 5 * paces["1000"]["virtual_span_s"]  # ten times slower, rounded
    assert all(pace["redis_expiries_due"] == 0 and pace["server_errors"] == 0 for pace in paces.values())
    assert details["production_pace"]["worst_case_staleness_if_every_invalidation_is_lost_s"] == 3601


@pytest.mark.allow_scan
@pytest.mark.slow
def test_whole_bill_and_hot_course_of_the_quick_run(quick_run: tuple[dict[str, Any], dict[str, Any]]) -> None:
    results, details = quick_run
    for tier, bill in results["usd_per_million_whole_bill"].items():
        assert set(bill) == {"api_gateway", "lambda", "authorizer", "dynamodb", "elasticache", "total"}, tier
        # API Gateway REST: $3.50 per million requests (https://aws.amazon.com/api-gateway/pricing/, 2026-12-03)
        assert bill["api_gateway"] == 3.5
        parts = sum(value for name, value in bill.items() if name != "total")
        assert bill["total"] == pytest.approx(parts, abs=1e-3)
        assert bill["total"] > results["tiers"][tier]["usd_per_million_requests"]
    # No route runs a Lambda authorizer (template.yaml): anonymous GETs cost one invocation.
    assert details["whole_bill"]["authorizer_invocations_per_request"] == 0
    assert all(bill["authorizer"] == 0 for bill in results["usd_per_million_whole_bill"].values())
    token_bearing = details["whole_bill"]["token_bearing_get"]
    assert all(token_bearing[tier]["total"] >= bill["total"]
               for tier, bill in results["usd_per_million_whole_bill"].items())
    hot = results["hot_course_reads"]
    assert set(hot) == {"near_cache", "no_near_cache", "redis_down"}
    # DynamoDB's per-partition read limit (3,000 RCU/s), Redis up and down
    assert all(0 <= figures["max_partition_rcu_per_s"] <= 3000 for figures in hot.values()), hot
    assert hot["redis_down"]["max_slot_ecpu_per_s"] == 0
    assert hot["near_cache"]["max_slot_ecpu_per_s"] < hot["no_near_cache"]["max_slot_ecpu_per_s"]


@pytest.mark.allow_scan
@pytest.mark.slow
def test_indexes_and_caches_read_less_and_only_the_reference_scans(
    quick_run: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    results, details = quick_run
    rcu = {tier: figures["rcu_per_1000_requests"] for tier, figures in results["tiers"].items()}
    # Given the same requests on the same data, then each tier reads less than the one before it
    assert rcu["scan_baseline"] > rcu["gsi"] > rcu["gsi_redis"]
    assert rcu["gsi_redis_near"] <= rcu["gsi_redis"] * 1.2
    assert results["tiers"]["gsi"]["hit_ratio"] == 0
    assert results["tiers"]["gsi_redis_near"]["hit_ratio"] > 0.3
    assert details["scan_calls"]["scan_baseline"] > 0
    assert details["scan_calls"]["gsi"] == details["scan_calls"]["gsi_redis"] == 0
    assert details["scan_calls"]["gsi_redis_near"] == 0
    assert all(count == 0 for count in details["server_errors"].values())


@pytest.mark.allow_scan
def test_moto_speedups_change_no_response(tables: dict[str, str], dynamodb: DynamoDBClient) -> None:
    """The benchmark's moto patch only makes Query faster: every response stays byte-for-byte the same."""
    from benchmarks import moto_speedups
    from benchmarks.dataset import DatasetSpec, generate, seed

    data = generate(DatasetSpec(courses=150, enrollments=400, users=60, instructors=12, categories=5, seed=3))
    seed(dynamodb, tables, data)
    courses, enrollments = tables["COURSES_TABLE"], tables["ENROLLMENTS_TABLE"]
    requests: list[tuple[str, dict[str, Any]]] = []
    for category in data.categories[:3]:
        requests.append(("query", {"TableName": courses, "IndexName": "ByCategory", "Limit": 7,
                                   "KeyConditionExpression": "category = :c", "ScanIndexForward": False,
                                   "ExpressionAttributeValues": {":c": {"S": category}}}))
    requests.append(("query", {"TableName": courses, "IndexName": "ByStatus", "Limit": 5,
                               "KeyConditionExpression": "#s = :p", "FilterExpression": "#l = :l",
                               "ExpressionAttributeNames": {"#s": "status", "#l": "level"},
                               "ExpressionAttributeValues": {":p": {"S": "published"}, ":l": {"S": "advanced"}}}))
    for user in data.enrolled_users[:3]:
        requests.append(("query", {"TableName": enrollments, "KeyConditionExpression": "user_id = :u",
                                   "ExpressionAttributeValues": {":u": {"S": user}}}))
    requests.append(("scan", {"TableName": courses, "Limit": 40}))

    def answers() -> list[Any]:
        out: list[Any] = []
        for operation, request in requests:
            response = getattr(dynamodb, operation)(**request)
            out.append((response["Items"], response.get("Count"), response.get("ScannedCount"),
                        response.get("LastEvaluatedKey")))
            if response.get("LastEvaluatedKey"):  # and the page after it
                follow = getattr(dynamodb, operation)(**request, ExclusiveStartKey=response["LastEvaluatedKey"])
                out.append((follow["Items"], follow.get("Count"), follow.get("ScannedCount"),
                            follow.get("LastEvaluatedKey")))
        return out

    plain = answers()
    moto_speedups.install()
    try:
        accelerated = answers()
        dynamodb.put_item(TableName=enrollments, Item={
            "user_id": {"S": data.enrolled_users[0]}, "course_id": {"S": "zz-new"}, "enrolled_at": {"S": "2030"}})
        after_write = answers()
    finally:
        moto_speedups.uninstall()
    assert accelerated == plain
    assert after_write != plain  # a write is seen at once: the cache never serves a stale partition
    assert answers() == after_write


@pytest.mark.allow_scan
@pytest.mark.slow
def test_a_naive_scan_is_billed_for_the_whole_table(quick_run: tuple[dict[str, Any], dict[str, Any]]) -> None:
    """A filtered Scan reads (and is billed for) every item of its table, whatever it returns."""
    results, details = quick_run
    means = list(details["table_mean_item_bytes"].values())  # courses, enrollments
    whole_courses = results["dataset"]["courses"] * means[0] / 4096 / 2
    whole_enrollments = results["dataset"]["enrollments"] * means[1] / 4096 / 2
    by_kind = details["rcu_by_kind_per_request"]["scan_baseline"]
    assert whole_courses <= by_kind["list"] <= whole_courses * 1.1 + 1
    # the enrollments Scan, plus at most one 0.5-unit GetItem per enrollment listed (limit 20)
    assert whole_enrollments <= by_kind["me"] <= whole_enrollments * 1.1 + 1 + 20 * 0.5
