"""``make bench``: four tiers, one data set, one process — and the cache and cold-start figures.

    python -m benchmarks.run            # default size (~10 min on 2 CPUs)
    python -m benchmarks.run --quick    # small data, few requests (the smoke test uses it)

Steps: start moto in-process and create the tables from ``template.yaml``; generate and
seed the data with BatchWriteItem; start a dedicated ``redis-server``; run
``scan_baseline``, ``gsi``, ``gsi_redis``, ``gsi_redis_near`` on the same measured plan;
measure cache hit latency, the 64-way stampede and a frozen Redis (``cache_bench``) and
cold starts; print the table, write ``benchmarks/results/latest.json`` and regenerate
``docs/BENCHMARKS.md`` with its charts.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
LAYER = REPO_ROOT / "layers" / "shared"
for _path in (str(LAYER), str(REPO_ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

# Powertools reads its environment when its singletons are built (at import): set it first
# (without overriding what a caller, e.g. the test suite, has already set).
from local.invoke import IN_PROCESS_ENVIRONMENT  # noqa: E402 - no layer import

BASE_ENVIRONMENT = {**IN_PROCESS_ENVIRONMENT, "CURSOR_SECRET": secrets.token_urlsafe(32)}  # fresh per run
for _key, _value in BASE_ENVIRONMENT.items():
    os.environ.setdefault(_key, _value)

from tqdm import tqdm  # noqa: E402

from benchmarks import bill, coldstart, hot_course, metering, read_floor, report, virtual_time  # noqa: E402
from benchmarks.dataset import DatasetSpec, generate, seed  # noqa: E402
from benchmarks.stats import TierStats, load_prices, usd_per_million  # noqa: E402
from benchmarks.tiers import Discard, run_naive_tier, run_product_tier  # noqa: E402
from benchmarks.workload import ITEM, LIST, ME, Workload, WorkloadSpec, build_event  # noqa: E402

COLD_START_FUNCTION = "get_course"
# Production paces of the virtual-time replays (requests/s); the first is the one the cost column assumes.
PACES_RPS = (100, 1000)
# Warm-up requests per cache tier. The Zipf tail (s = 1.1 over ~17k published courses) fills
# slowly: the expected item hit ratio of an 8,000-request measured pass is ~0.83 after 8,000
# warm-up requests, ~0.88 after 24,000, ~0.89 after 32,000 and ~0.91 after 48,000 (1.0 only
# once every course has been read, which the 300 s item TTL never lets happen at this rate).
# 24,000 is most of that gain for about +2 minutes per cache tier on a 2-core machine
# (a warm-up request costs ~2-5 ms once the head is cached), keeping `make bench` under ~15 min.
DEFAULT_WARMUP = 24_000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="small data set and few requests (< 30 s); writes benchmarks/results/quick/, no docs")
    parser.add_argument("--courses", type=int, default=int(env("BENCH_COURSES", "20000")))
    parser.add_argument("--enrollments", type=int, default=int(env("BENCH_ENROLLMENTS", "100000")))
    parser.add_argument("--users", type=int, default=int(env("BENCH_USERS", "20000")))
    parser.add_argument("--measured", type=int, default=int(env("BENCH_MEASURED", "8000")),
                        help="requests in the measured pass of each product tier")
    parser.add_argument("--warmup", type=int, default=int(env("BENCH_WARMUP", str(DEFAULT_WARMUP))),
                        help="requests in the warm-up pass of each cache tier (env BENCH_WARMUP; see DEFAULT_WARMUP)")
    parser.add_argument("--baseline-items", type=int, default=int(env("BENCH_BASELINE_ITEMS", "300")))
    parser.add_argument("--baseline-lists", type=int, default=int(env("BENCH_BASELINE_LISTS", "4")))
    parser.add_argument("--baseline-me", type=int, default=int(env("BENCH_BASELINE_ME", "2")))
    parser.add_argument("--cold-start-runs", type=int, default=int(env("BENCH_COLD_START_RUNS", "7")))
    parser.add_argument("--cache-samples", type=int, default=int(env("BENCH_CACHE_SAMPLES", "20000")),
                        help="samples per cache-hit latency measurement (cache_bench)")
    parser.add_argument("--pace-repeats", type=int, default=int(env("BENCH_PACE_REPEATS", "2")),
                        help="replays of the first pace (2: the second checks that every figure repeats)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--output", type=Path, default=None,
                        help="directory for latest.json (default benchmarks/results, or benchmarks/results/quick)")
    parser.add_argument("--no-docs", action="store_true", help="do not regenerate docs/BENCHMARKS.md and charts")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--render-only", action="store_true",
                        help="regenerate docs/BENCHMARKS.md and the charts from the saved results, measure nothing")
    parser.add_argument("--moto-as-is", action="store_true",
                        help="do not patch moto's O(table) Query (see benchmarks/moto_speedups.py); very slow at 20k")
    args = parser.parse_args(argv)
    if args.output is None:
        args.output = report.RESULTS_DIR / "quick" if args.quick else report.RESULTS_DIR
    if args.quick:
        args.courses, args.enrollments, args.users = 200, 600, 200
        args.measured, args.warmup = 100, 60
        args.baseline_items, args.baseline_lists, args.baseline_me = 10, 1, 1
        args.cold_start_runs = 1
        args.cache_samples = 300
        args.pace_repeats = 2
        args.no_docs = True  # a quick run never replaces the published figures
    return args


def _template_defaults() -> tuple[int, str]:
    """Memory size and near-cache TTL the template deploys (fallbacks when it is absent)."""
    try:
        from local.template import load_template

        parameters = load_template().get("Parameters", {})
        memory = int(parameters.get("FunctionMemorySize", {}).get("Default", 512))
        near = str(parameters.get("NearCacheTtlSeconds", {}).get("Default", "1"))
    except (OSError, ValueError, ImportError):
        return 512, "1"
    return memory, near


class Progress:
    """One tqdm bar over the whole run (requests served plus rows seeded)."""

    def __init__(self, total: int, disabled: bool) -> None:
        self.bar = tqdm(total=total, unit="op", dynamic_ncols=True, disable=disabled, file=sys.stderr,
                        smoothing=0.05)

    def stage(self, text: str) -> None:
        self.bar.set_description(text)

    def update(self, count: int) -> None:
        self.bar.update(count)

    def close(self) -> None:
        self.bar.close()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.render_only:
        path = report.render(args.output)
        print(f"wrote {path}")
        return {}
    metering.install()  # moto's ConsumedCapacity is fake: every container sizes the items it reads
    started = time.perf_counter()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log

    import benchmarks.naive_backend as naive
    from benchmarks.metering import TableAwareMeter
    from local.aws import create_tables, dynamodb_client, start_moto
    from local.redis_server import start_redis_server

    memory_mb, near_ttl = _template_defaults()
    spec = DatasetSpec(courses=args.courses, enrollments=args.enrollments, users=args.users, seed=args.seed,
                       instructors=max(10, args.courses // 10), categories=40 if args.courses >= 2_000 else 8)
    gsi_warmup = min(args.warmup // 4, 500)  # no cache to warm: only connections and code paths
    per_kind = {ITEM: args.baseline_items, LIST: args.baseline_lists, ME: args.baseline_me}
    pace_replays = len(PACES_RPS) + max(0, args.pace_repeats - 1)
    total_ops = (args.courses + args.enrollments + sum(per_kind.values()) + gsi_warmup
                 + (2 + pace_replays) * args.warmup + (3 + pace_replays) * args.measured)
    progress = Progress(total_ops, args.no_progress)

    stages: dict[str, float] = {}
    progress.stage("generating data")
    data = generate(spec)
    if not args.moto_as_is:
        from benchmarks import moto_speedups

        moto_speedups.install()
    moto = start_moto()
    redis_server = None
    try:
        tables = create_tables(moto.url, prefix="bench-")
        client = dynamodb_client(moto.url)
        progress.stage("seeding moto")
        timing = seed(client, tables, data, progress)
        from benchmarks.metering import item_size
        from courses_api.data.dynamo import to_attributes

        course_bytes = sum(item_size(to_attributes(c)) for c in data.courses)
        enrollment_bytes = sum(item_size(to_attributes(e)) for e in data.enrollments)
        table_means = {
            tables["COURSES_TABLE"]: course_bytes / max(1, len(data.courses)),
            tables["ENROLLMENTS_TABLE"]: enrollment_bytes / max(1, len(data.enrollments)),
        }

        redis_server = start_redis_server()
        import redis as redis_lib

        redis_client = redis_lib.Redis.from_url(redis_server.url)
        workload = Workload(data, WorkloadSpec())
        warmup = workload.plan(args.warmup, salt=1)
        measured = workload.plan(args.measured, salt=2)

        progress.stage("scan_baseline")
        tiers: dict[str, TierStats] = {
            "scan_baseline": run_naive_tier(
                naive, measured, per_kind, meter=TableAwareMeter(table_means), progress=progress
            )
        }
        common = {"REDIS_URL": "", "NEAR_CACHE_TTL_S": near_ttl, **tables, "DYNAMODB_ENDPOINT": moto.url}
        configs = {
            "gsi": ({**common, "CACHE_KEY_PREFIX": "bench-gsi"}, warmup[:gsi_warmup]),
            "gsi_redis": ({**common, "REDIS_URL": redis_server.url, "NEAR_CACHE_TTL_S": "0",
                           "CACHE_KEY_PREFIX": "bench-redis"}, warmup),
            "gsi_redis_near": ({**common, "REDIS_URL": redis_server.url, "CACHE_KEY_PREFIX": "bench-near"}, warmup),
        }
        warmup_wall: dict[str, float] = {}
        for name, (env, warm) in configs.items():
            progress.stage(name)
            redis_client.flushall()
            tier_started = time.perf_counter()
            tiers[name] = run_product_tier(
                name, env, warm, measured, redis_client=redis_client if env["REDIS_URL"] else None, progress=progress
            )
            warmup_wall[name] = time.perf_counter() - tier_started - tiers[name].wall_s

        stages["tiers"] = time.perf_counter() - started
        progress.stage("production pace")
        pace_started = time.perf_counter()
        paced: dict[str, list[tuple[TierStats, float]]] = {}
        for index, rps in enumerate(PACES_RPS):
            for repeat in range(max(1, args.pace_repeats) if index == 0 else 1):
                redis_client.flushall()
                env = {**configs["gsi_redis_near"][0], "CACHE_KEY_PREFIX": f"bench-pace{rps}-{repeat}"}
                paced.setdefault(str(rps), []).append(
                    virtual_time.run_tier_at_pace(f"gsi_redis_near@{rps}", env, warmup, measured, rps)
                )
                progress.update(len(warmup) + len(measured))
        stages["production_pace"] = time.perf_counter() - pace_started
        progress.stage("cache mechanics")
        mechanics = cache_mechanics(args.cache_samples, redis_server.url, quick=args.quick)
        stages["cache_mechanics"] = time.perf_counter() - started - stages["tiers"] - stages["production_pace"]
        progress.stage("cold start")
        cold_env = {**BASE_ENVIRONMENT, **common, "REDIS_URL": redis_server.url}
        # The first request reads a course no tier has cached (the cache prefix is the probe's own).
        first_request = build_event(COLD_START_FUNCTION, path_parameters={"course_id": data.published_ids[-1]})
        cold_env = {**cold_env, "CACHE_KEY_PREFIX": "bench-cold"}
        cold = coldstart.measure(COLD_START_FUNCTION, cold_env, runs=args.cold_start_runs,
                                 discard_first=not args.quick, event=first_request)
        cold["imports"] = [] if args.quick else coldstart.import_profile(COLD_START_FUNCTION, cold_env)
        if not args.quick:  # a quick run skips sam build and the emulator (about a minute)
            coldstart.measure_artifact(cold, cold_env, first_request, args.cold_start_runs)
        stages["cold_start"] = (time.perf_counter() - started - stages["tiers"] - stages["production_pace"]
                                - stages["cache_mechanics"])
        progress.stage("read floor")
        floor_started = time.perf_counter()
        with contextlib.redirect_stdout(Discard()):  # the containers' EMF lines
            floor, floor_details = read_floor.measure(
                tiers=tiers, courses=data.courses, warmup=warmup, measured=measured, enrollments=data.enrollments,
                tables=tables, client=client, moto_url=moto.url, redis_url=redis_server.url, quick=args.quick,
                assumed_rps=float(load_prices()["traffic_assumption"]["requests_per_second"]),
            )
        stages["read_floor"] = time.perf_counter() - floor_started
        progress.stage("hot course")
        hot_started = time.perf_counter()
        redis_client.flushall()
        hot, hot_details = hot_course.measure(data.published_ids[0], {**common, "CURSOR_SECRET": BASE_ENVIRONMENT[
            "CURSOR_SECRET"]}, redis_server.url, redis_client, quick=args.quick)
        stages["hot_course"] = time.perf_counter() - hot_started
        progress.stage("token check")
        token_check = bill.measure_token_check(200 if args.quick else 5000)
        token_check["cold_ms"] = bill.measure_token_check_cold(3 if args.quick else 15)
    finally:
        progress.close()
        if redis_server is not None:
            redis_server.stop()
        moto.stop()
        if not args.moto_as_is:
            moto_speedups.uninstall()

    prices = load_prices()
    costs = {name: usd_per_million(stats, prices, memory_mb) for name, stats in tiers.items()}
    pace, pace_details = production_pace(paced, tiers["scan_baseline"], warmup, measured, data.enrollments)
    route_kinds = bill.route_authorizers()
    authorizer_share = bill.authorizer_invocations_per_request(measured, route_kinds)
    whole = {name: bill.whole_bill(costs[name], authorizer_share, {}, prices) for name in tiers}
    results = {
        "dataset": data.describe(course_bytes),
        "workload": {
            **WorkloadSpec().describe(),
            "near_cache_ttl_s": float(near_ttl),
            "warmup_requests": {"scan_baseline": 1, "gsi": gsi_warmup, "gsi_redis": args.warmup,
                                "gsi_redis_near": args.warmup},
            "measured_requests": {name: len(stats.samples) for name, stats in tiers.items()},
            "sample_sizes": {name: stats.sample_sizes() for name, stats in tiers.items()},
            "quick": args.quick,
        },
        "tiers": {
            name: {
                "rcu_per_1000_requests": round(1000 * stats.rcu_per_request, 3),
                "hit_ratio": round(stats.hit_ratio, 4),
                "latency_ms": stats.latency(),
                "usd_per_million_requests": costs[name]["total"],
            }
            for name, stats in tiers.items()
        },
        "hit_latency_ms": mechanics["hit_latency_ms"],
        "stampede": mechanics["stampede"],
        "redis_outage": mechanics["redis_outage"],
        "cold_start_ms": coldstart.summary(cold),
        "cold_start_artifact_ms": coldstart.artifact_summary(cold),
        **floor,
        "production_pace": pace,
        "usd_per_million_whole_bill": whole,
        "hot_course_reads": hot,
    }
    duration = time.perf_counter() - started
    details = {
        "finished_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "duration_s": round(duration, 1),
        "seed_s": round(timing.total_s, 1),
        "seed_timing_s": {"courses": round(timing.courses_s, 1), "enrollments": round(timing.enrollments_s, 1)},
        "environment": {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                        "load_average_1m": round(os.getloadavg()[0], 2)},
        "memory_mb": memory_mb,
        "table_mean_item_bytes": {name: round(value, 1) for name, value in table_means.items()},
        "moto_query_patch": not args.moto_as_is,
        "prices_as_of": prices["as_of"],
        "region": prices["region"],
        "assumed_rps": prices["traffic_assumption"]["requests_per_second"],
        "baseline_sample": ", ".join(f"{n} {k} reads" for k, n in per_kind.items()),
        "usd_per_million_by_service": costs,
        "stage_s": {name: round(value, 1) for name, value in stages.items()},
        "tier_wall_s": {name: round(stats.wall_s, 1) for name, stats in tiers.items()},
        "warmup_wall_s": {name: round(value, 1) for name, value in warmup_wall.items()},
        "cache_outcomes": {name: stats.outcomes() for name, stats in tiers.items()},
        "server_errors": {name: stats.errors() for name, stats in tiers.items()},
        "scan_calls": {name: sum(s.scans for s in stats.samples) for name, stats in tiers.items()},
        "rcu_by_kind_per_request": {name: _rcu_by_kind(stats) for name, stats in tiers.items()},
        "redis_usage": {name: vars(stats.redis) for name, stats in tiers.items()},
        "cold_start": cold,
        "cache_mechanics": mechanics["details"],
        "read_floor": floor_details,
        "production_pace": pace_details,
        "hot_course_reads": hot_details,
        "whole_bill": {"route_authorizers": route_kinds,
                       "authorizer_invocations_per_request": round(authorizer_share, 4),
                       "token_check": token_check,
                       "token_bearing_get": {name: bill.token_bearing_get(whole[name], token_check, prices)
                                             for name in tiers},
                       "api_gateway": prices["api_gateway"]},
    }
    report.write_json(results, details, args.output)
    if not args.no_docs:
        report.charts(results)
        report.write_markdown(report.markdown(results, details))
    print(report.console_table(results))
    print(f"\nwrote {args.output / 'latest.json'} in {duration:.0f} s")
    return results


def production_pace(
    paced: dict[str, list[tuple[TierStats, float]]],
    baseline: TierStats,
    warmup: list[Any],
    measured: list[Any],
    enrollments: list[dict[str, Any]],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``production_pace`` figures of each pace, and their details (spans, repeat check, staleness bound)."""
    from courses_api.cache.config import CacheConfig
    from courses_api.settings import Settings

    fields = Settings.model_fields
    item_ttl = float(fields["cache_item_ttl_s"].default)
    list_ttl = float(fields["cache_list_ttl_s"].default)
    near_ttl = float(_template_defaults()[1])
    ttls = {"item": item_ttl, "list": list_ttl, "me": list_ttl}
    jitter = CacheConfig().ttl_jitter
    enrolled: dict[str, list[str]] = {}
    for row in enrollments:
        enrolled.setdefault(row["user_id"], []).append(row["course_id"])
    results: dict[str, Any] = {}
    details: dict[str, Any] = {
        "ttls_s": ttls, "ttl_jitter": jitter, "near_cache_ttl_s": near_ttl,
        "shortest_redis_ttl_s": virtual_time.shortest_ttl_s(ttls, jitter),
        "worst_case_staleness_if_every_invalidation_is_lost_s": max(item_ttl, list_ttl) + near_ttl,
        "paces": {},
    }
    for rps, runs in paced.items():
        figures = []
        for stats, wall_s in runs:
            hit = read_floor.pace_figures(stats, warmup, measured, enrolled, ttls)
            figures.append({
                "rcu_per_1000_requests": round(1000 * stats.rcu_per_request, 3),
                "rcu_ratio_to_scan": round(stats.rcu_per_request / baseline.rcu_per_request, 9),
                "rcu_by_kind_per_request": _rcu_by_kind(stats),
                "cache_outcomes": stats.outcomes(),
                "server_errors": stats.errors(),
                **hit,
                "redis_expiries_due": virtual_time.redis_expiries_due(hit["virtual_span_s"], wall_s, ttls, jitter),
                "wall_span_s": round(wall_s, 1),
                "wall_latency_ms": stats.latency(),
            })
        first = figures[0]
        results[rps] = {key: first[key] for key in ("rcu_ratio_to_scan", "hit_ratio", "hit_ratio_vs_compulsory")}
        unmoved = [{k: v for k, v in f.items() if k not in ("wall_span_s", "wall_latency_ms")} for f in figures]
        details["paces"][rps] = {
            **first,
            "replays": len(figures),
            "identical_across_replays": all(f == unmoved[0] for f in unmoved[1:]) if len(figures) > 1 else None,
            "wall_span_s_by_replay": [f["wall_span_s"] for f in figures],
        }
    return results, details


def _rcu_by_kind(stats: TierStats) -> dict[str, float]:
    by_kind: dict[str, list[float]] = {}
    for sample in stats.samples:
        by_kind.setdefault(sample.kind, []).append(sample.rcu)
    return {kind: round(sum(v) / len(v), 4) for kind, v in sorted(by_kind.items())}


def cache_mechanics(samples: int, redis_url: str, *, quick: bool = False) -> dict[str, Any]:
    """Hit latency, the 64-way stampede and frozen Redis, measured by ``benchmarks.cache_bench``.

    Hits run on the benchmark's Redis; the outage part starts (and freezes) a redis-server
    of its own. Only the figures of the issue's shape go to ``latest.json``; the rest
    (miss latency, sample counts, breaker opening) goes to the details.
    """
    from benchmarks import cache_bench

    if quick:  # the parts the JSON needs; run() also measures near-cache staleness (~40 s of sleeps)
        measured = {
            "hit_latency_ms": cache_bench.measure_hits(redis_url, samples),
            "stampede": cache_bench.measure_stampede(redis_url),
            "redis_outage": cache_bench.measure_outage(samples),
        }
    else:
        measured = cache_bench.run(samples=samples, redis_url=redis_url)
    hits = measured["hit_latency_ms"]
    outage = measured["redis_outage"]
    return {
        "hit_latency_ms": {
            name: {"p50": hits[name]["p50"], "p99": hits[name]["p99"]} for name in ("near", "redis", "bare_redis_get")
        },
        "stampede": {
            "concurrent_misses": int(measured["stampede"]["concurrent_misses"]),
            "db_reads": int(measured["stampede"]["db_reads"]),
        },
        "redis_outage": {"p99_ms": outage["p99_ms"], "db_only_p99_ms": outage["db_only_p99_ms"]},
        "details": measured,
    }


if __name__ == "__main__":
    main()
