"""``make bench-cache``: the cache manager's own figures, measured in one run on this machine.

* p50/p99 of a near-cache hit, a Redis hit and a miss (lease + loader + guarded fill),
  each through ``RedisCacheManager.fetch_item`` with a realistic ``Course``, and of a bare
  redis-py ``GET`` round trip for reference; a Redis hit of a list page (one ``MGET``), and
  a Redis hit forced through the lease script (the hit path before it became a plain GET),
  interleaved with the others so all share the machine's load;
* near-cache staleness: after a write + invalidation in another container, how long a
  reader polling its near cache keeps serving the old version (bounded by its TTL);
* loader (DynamoDB) calls for 64 concurrent misses on one cold key (8 "containers" x 8);
* p99 with Redis frozen (``SIGSTOP``, breaker open) against no Redis configured at all.

A dedicated ``redis-server`` is started (and frozen) here: the shared one is never touched.
``run()`` returns the figures as a dict (the shape ``benchmarks/run.py`` reads); ``main()``
prints them.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from statistics import quantiles
from typing import Any, TypeVar

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT / "layers" / "shared") not in sys.path:  # `python benchmarks/cache_bench.py`
    sys.path.insert(0, str(_ROOT / "layers" / "shared"))
if str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))

from pydantic import SecretStr, TypeAdapter  # noqa: E402

from courses_api.cache.api import ListNamespace, NullCache  # noqa: E402
from courses_api.cache.client import create_redis_client  # noqa: E402
from courses_api.cache.config import CacheConfig, build_manager  # noqa: E402
from courses_api.cache.entries import Entry  # noqa: E402
from courses_api.cache.manager import RedisCacheManager  # noqa: E402
from courses_api.cache.metrics import NullMetrics  # noqa: E402
from courses_api.models import Course  # noqa: E402
from courses_api.settings import Settings  # noqa: E402
from local.redis_server import LocalRedis, start_redis_server  # noqa: E402

COURSE = TypeAdapter(Course)
T = TypeVar("T")
GOALS = {"near_p50_ms": 0.15, "redis_p50_ms": 0.3, "redis_p99_ms": 1.0, "stampede_reads": 1, "frozen_extra_p99_ms": 2.0}


def sample_course(course_id: str = "c-bench") -> Course:
    """A typical published course (about 1.2 KB of JSON)."""
    return Course(
        course_id=course_id,
        title="Designing fast serverless APIs with DynamoDB and Redis",
        description="Indexes, caches and what they cost. " * 25,
        category="cloud",
        level="intermediate",
        instructor_id="instructor-0001",
        price=Decimal("49.99"),
        tags=["aws", "dynamodb", "redis", "serverless"],
        status="published",
        enrollment_count=1234,
        created_at="2026-01-01T00:00:00Z",
        published_at="2026-01-02T00:00:00Z",
        updated_at="2026-01-02T00:00:00Z",
        version=3,
    )


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    cuts = quantiles(samples_ms, n=100, method="inclusive")
    return {"p50": round(cuts[49], 4), "p90": round(cuts[89], 4), "p99": round(cuts[98], 4), "n": len(samples_ms)}


def _time(operation: Callable[[], object], samples: int, warmup: int = 200) -> dict[str, float]:
    for _ in range(warmup):
        operation()
    timings: list[float] = []
    clock = time.perf_counter
    for _ in range(samples):
        started = clock()
        operation()
        timings.append((clock() - started) * 1000)
    return percentiles(timings)


def _settings(url: str, **overrides: Any) -> Settings:
    return Settings(
        courses_table="bench-courses",
        enrollments_table="bench-enrollments",
        redis_url=url,
        cache_key_prefix="bench",
        cursor_secret=SecretStr(secrets.token_urlsafe(32)),
        **overrides,
    )


def _manager(url: str, **overrides: Any) -> RedisCacheManager:
    settings = _settings(url, **overrides)
    quiet = logging.getLogger("cache_bench")  # breaker transitions are expected here
    quiet.setLevel(logging.ERROR)
    return build_manager(settings, NullMetrics(), client=create_redis_client(settings), logger=quiet)


class _AlwaysScripted(RedisCacheManager):
    """The hit path before it became a plain GET: every read runs the lease script."""

    def _peek(self, entries: Sequence[Entry], pipelined: bool) -> list[bytes | None]:
        return [None] * len(entries)


def _scripted_manager(url: str) -> RedisCacheManager:
    settings = _settings(url, near_cache_ttl_s=0)
    return _AlwaysScripted(create_redis_client(settings), NullMetrics(), config=CacheConfig.from_settings(settings))


def _time_interleaved(operations: dict[str, Callable[[], object]], samples: int, warmup: int = 200) -> dict[str, Any]:
    """Time several operations round-robin, so a burst of load on this shared machine
    hits them all alike and their difference is the code's, not the neighbours'."""
    for operation in operations.values():
        for _ in range(warmup):
            operation()
    timings: dict[str, list[float]] = {name: [] for name in operations}
    clock = time.perf_counter
    for _ in range(samples):
        for name, operation in operations.items():
            started = clock()
            operation()
            timings[name].append((clock() - started) * 1000)
    return {name: percentiles(values) for name, values in timings.items()}


def measure_hits(url: str, samples: int) -> dict[str, dict[str, float]]:
    """Near hit, Redis hits (item, page, item through the script), miss and a bare GET."""
    course = sample_course()
    load: Callable[[], Course | None] = lambda: course  # noqa: E731 - the DynamoDB read, free here
    page_load: Callable[[], list[Course]] = lambda: [course]  # noqa: E731
    pages = TypeAdapter(list[Course])
    catalogue = ListNamespace("catalogue")
    near = _manager(url, near_cache_ttl_s=60)
    redis_only = _manager(url, near_cache_ttl_s=0)
    scripted = _scripted_manager(url)
    near.fetch_item(course.course_id, load, COURSE)
    redis_only.fetch_list(catalogue, "limit=1", page_load, pages)
    bare_client = create_redis_client(_settings(url))
    key = near.keys.item(course.course_id).value

    counter = iter(range(10**9))

    def miss() -> object:
        return redis_only.fetch_item(f"miss-{next(counter)}", load, COURSE)

    figures: dict[str, dict[str, float]] = _time_interleaved(
        {
            "near": lambda: near.fetch_item(course.course_id, load, COURSE),
            "redis": lambda: redis_only.fetch_item(course.course_id, load, COURSE),
            "redis_page": lambda: redis_only.fetch_list(catalogue, "limit=1", page_load, pages),
            "redis_via_script": lambda: scripted.fetch_item(course.course_id, load, COURSE),
            "bare_redis_get": lambda: bare_client.get(key),
        },
        samples,
    )
    figures["miss"] = _time(miss, min(samples, 5000))
    return figures


def measure_near_staleness(url: str, writes: int = 40, near_ttl_s: float = 1.0) -> dict[str, Any]:
    """Container A reads a course through its near cache in a loop (every ~1 ms); container
    B commits a new version and invalidates. How long does A still serve the old version?"""
    database = {"row": sample_course("c-stale")}
    reader = _manager(url, near_cache_ttl_s=near_ttl_s)
    writer = _manager(url, near_cache_ttl_s=near_ttl_s)
    windows: list[float] = []
    rng = __import__("random").Random(7)
    for version in range(1, writes + 1):
        reader.fetch_item("c-stale", lambda: database["row"], COURSE)  # warm A's near cache
        time.sleep(rng.uniform(0, near_ttl_s))  # the write lands at a random point of A's TTL
        database["row"] = database["row"].model_copy(update={"version": 100 + version})
        writer.invalidate(["c-stale"], [])
        written = time.perf_counter()
        while True:
            seen = reader.fetch_item("c-stale", lambda: database["row"], COURSE).value
            if seen is not None and seen.version == 100 + version:
                break
            time.sleep(0.001)
        windows.append((time.perf_counter() - written) * 1000)
    cuts = quantiles(windows, n=100, method="inclusive")
    return {
        "near_ttl_s": near_ttl_s,
        "writes": writes,
        "stale_p50_ms": round(cuts[49], 1),
        "stale_p99_ms": round(cuts[98], 1),
        "stale_max_ms": round(max(windows), 1),
    }


def measure_stampede(url: str, concurrent: int = 64, containers: int = 8, load_ms: float = 20) -> dict[str, Any]:
    """``concurrent`` simultaneous misses on one cold key; counts loader calls."""
    managers = [_manager(url, near_cache_ttl_s=0, redis_socket_timeout_ms=1000) for _ in range(containers)]
    calls = 0
    lock = threading.Lock()
    course = sample_course("c-stampede")

    def load() -> Course:
        nonlocal calls
        with lock:
            calls += 1
        time.sleep(load_ms / 1000)
        return course

    barrier = threading.Barrier(concurrent)

    def read(i: int) -> str:
        barrier.wait()
        return str(managers[i % containers].fetch_item(course.course_id, load, COURSE).outcome)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrent) as pool:
        outcomes = list(pool.map(read, range(concurrent)))
    return {
        "concurrent_misses": concurrent,
        "db_reads": calls,
        "outcomes": {o: outcomes.count(o) for o in sorted(set(outcomes))},
        "wall_ms": round((time.perf_counter() - started) * 1000, 1),
        "loader_ms": load_ms,
    }


def measure_outage(samples: int) -> dict[str, Any]:
    """Frozen Redis (SIGSTOP) with the breaker open, against no Redis configured."""
    course = sample_course()
    load: Callable[[], Course | None] = lambda: course  # noqa: E731
    none = _time(lambda: NullCache().fetch_item(course.course_id, load, COURSE), samples)
    server = start_redis_server()
    assert server.process is not None
    try:
        manager = _manager(server.url, near_cache_ttl_s=0, breaker_cooldown_s=3600)
        manager.fetch_item(course.course_id, load, COURSE)  # connected, value cached
        os.kill(server.process.pid, signal.SIGSTOP)
        opening: list[float] = []
        while manager.breaker.state != "open":
            started = time.perf_counter()
            manager.fetch_item(course.course_id, load, COURSE)
            opening.append(round((time.perf_counter() - started) * 1000, 2))
        frozen = _time(lambda: manager.fetch_item(course.course_id, load, COURSE), samples, warmup=0)
    finally:
        if server.process is not None:
            os.kill(server.process.pid, signal.SIGCONT)
        server.stop()
    return {
        "p99_ms": frozen["p99"],
        "p50_ms": frozen["p50"],
        "db_only_p99_ms": none["p99"],
        "db_only_p50_ms": none["p50"],
        "extra_p99_ms": round(frozen["p99"] - none["p99"], 4),
        "requests_until_breaker_open_ms": opening,
    }


def run(samples: int = 20_000, redis_url: str | None = None) -> dict[str, Any]:
    """All figures; starts its own redis-server unless ``redis_url`` is given for the hit part."""
    server: LocalRedis | None = None
    if redis_url is None:
        server = start_redis_server()
        redis_url = server.url
    try:
        hits = measure_hits(redis_url, samples)
        stampede = measure_stampede(redis_url)
        staleness = measure_near_staleness(redis_url)
    finally:
        if server is not None:
            server.stop()
    outage = measure_outage(samples)
    goals = {
        "near_p50": hits["near"]["p50"] <= GOALS["near_p50_ms"],
        "redis_p50": hits["redis"]["p50"] <= GOALS["redis_p50_ms"],
        "redis_p99": hits["redis"]["p99"] <= GOALS["redis_p99_ms"],
        "stampede": stampede["db_reads"] <= GOALS["stampede_reads"],
        "frozen_extra_p99": outage["extra_p99_ms"] <= GOALS["frozen_extra_p99_ms"],
    }
    return {
        "hit_latency_ms": hits,
        "stampede": stampede,
        "redis_outage": outage,
        "near_staleness": staleness,
        "goals_met": goals,
        "details": {"samples": samples, "value_bytes": len(COURSE.dump_json(sample_course()))},
    }


def _table(results: dict[str, Any]) -> str:
    hits = results["hit_latency_ms"]
    outage = results["redis_outage"]
    stampede = results["stampede"]
    staleness = results["near_staleness"]
    goals = results["goals_met"]

    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    def row(label: str, figures: dict[str, float], note: str = "") -> str:
        return f"{label:28}{figures['p50']:>10.4f}{figures['p90']:>10.4f}{figures['p99']:>10.4f}   {note}".rstrip()

    frozen = {"p50": outage["p50_ms"], "p90": float("nan"), "p99": outage["p99_ms"]}
    no_redis = {"p50": outage["db_only_p50_ms"], "p90": float("nan"), "p99": outage["db_only_p99_ms"]}
    lines = [
        f"cache benchmark ({results['details']['samples']} samples, {results['details']['value_bytes']} B course)",
        f"{'':28}{'p50 ms':>10}{'p90 ms':>10}{'p99 ms':>10}",
        row("near-cache hit", hits["near"], f"goal p50 <= 0.15: {mark(goals['near_p50'])}"),
        row(
            "Redis hit", hits["redis"], f"goal p50 <= 0.3, p99 <= 1: {mark(goals['redis_p50'] and goals['redis_p99'])}"
        ),
        row("Redis hit, list page (MGET)", hits["redis_page"]),
        row("Redis hit via lease script", hits["redis_via_script"], "the hit path before the plain GET"),
        row("miss (lease+load+fill)", hits["miss"]),
        row("bare Redis GET", hits["bare_redis_get"]),
        row("no Redis (NullCache)", no_redis),
        row(
            "Redis frozen, breaker open",
            frozen,
            f"extra p99 {outage['extra_p99_ms']:+.4f} ms (goal <= 2): {mark(goals['frozen_extra_p99'])}",
        ),
        f"requests until the breaker opened (ms each): {outage['requests_until_breaker_open_ms']}",
        f"stampede: {stampede['concurrent_misses']} concurrent misses -> {stampede['db_reads']} loader call(s) "
        f"{stampede['outcomes']} in {stampede['wall_ms']} ms: {mark(goals['stampede'])}",
        f"near-cache staleness after a write in another container (TTL {staleness['near_ttl_s']} s, no push "
        f"invalidation; {staleness['writes']} writes): p50 {staleness['stale_p50_ms']} ms, "
        f"p99 {staleness['stale_p99_ms']} ms, max {staleness['stale_max_ms']} ms",
    ]
    return "\n".join(lines)


def main() -> None:
    samples = int(os.environ.get("BENCH_CACHE_SAMPLES", "20000"))
    results = run(samples)
    print(_table(results))
    if os.environ.get("BENCH_CACHE_JSON"):
        Path(os.environ["BENCH_CACHE_JSON"]).write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
