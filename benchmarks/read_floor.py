"""The read-floor figures of ``make bench``: hit ratio against its bound, staleness, fences.

* **Hit ratio ÷ ideal.** From the trace a cache tier actually served (warm-up and
  measured passes, with each request's start time), the best any cache with the same
  TTLs could do: the first request of each key in each TTL window misses, every other
  one hits. ``me`` requests have no ``X-Cache`` (private), but they read the item cache
  (their course summaries) and their own list, and a list page reads the item entries of
  the courses it shows (their counts), so those accesses are part of the trace;
  the ratio is taken over the item and list requests of the measured pass. The item
  TTL's effect is the same ideal replayed at the deployed request rate (the benchmark
  serves its trace faster than production would, so its TTL windows rarely close).
* **Staleness after a write.** Separate containers (each its own near cache and Redis
  client) on the benchmark's moto and Redis: a writer commits through the real write
  path (``CourseWrites.update``: commit, then invalidate), a reader polls every ~1 ms;
  the window is from the write's acknowledgement until the reader serves the new value.
  For an item (``get_course``) and a list (``list_published``), with the near cache and
  without.
* **Version fences.** The lagging-replica race of :mod:`benchmarks.replica_race`.
* **Read units per item miss** and the DynamoDB reads of a warm ``GET /me/enrollments``.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from statistics import quantiles
from typing import Any

from benchmarks.stats import TierStats
from benchmarks.workload import ITEM, LIST, ME, Request

ITEM_TTLS_S = (30, 60, 300, 900, 3600)
ADMIN_GROUPS = frozenset({"admins"})


# ---------------------------------------------------------------- hit ratio against its bound


@dataclass(frozen=True, slots=True)
class Access:
    """One request of the trace: when it started and the cache keys it reads."""

    at: float
    kind: str
    own_key: tuple[str, str] | None  # the key whose hit the X-Cache header reports (None for me)
    keys: tuple[tuple[str, str], ...]


def request_keys(
    request: Request, enrolled: dict[str, list[str]], limit: int = 20, shown: Sequence[str] = ()
) -> Access:
    """The cache keys one planned request reads (time filled in by the caller).

    A list page reads its own entry, then the item entries of the courses it shows
    (``shown``), which carry their enrollment counts.
    """
    event = request.event
    if request.kind == ITEM:
        key = ("item", event["pathParameters"]["course_id"])
        return Access(0.0, ITEM, key, (key,))
    if request.kind == LIST:
        query = event.get("queryStringParameters") or {}
        scope = event.get("pathParameters") or {}
        page = ("list", f"{request.function}|{sorted(scope.items())}|{sorted(query.items())}")
        return Access(0.0, LIST, page, (page, *(("item", course_id) for course_id in shown)))
    user = event["requestContext"]["authorizer"]["claims"]["sub"]
    courses = sorted(enrolled.get(user, []))[:limit]
    keys = (("me", user), *(("item", course_id) for course_id in courses))
    return Access(0.0, ME, None, keys)


def ideal_hits(trace: Sequence[Access], ttl_s: Callable[[str], float]) -> list[bool]:
    """Whether each request's own key could have been a hit: alive since the first miss of its window."""
    expires: dict[tuple[str, str], float] = {}
    hits: list[bool] = []
    for access in trace:
        own_hit = False
        for key in access.keys:
            alive = access.at < expires.get(key, float("-inf"))
            if not alive:
                expires[key] = access.at + ttl_s(key[0])
            if key == access.own_key:
                own_hit = alive
        hits.append(own_hit)
    return hits


def hit_ratio_vs_ideal(
    stats: TierStats,
    warmup: Sequence[Request],
    measured: Sequence[Request],
    enrolled: dict[str, list[str]],
    ttls: dict[str, float],
    assumed_rps: float,
) -> dict[str, Any]:
    """Achieved hit ratio over the measured item and list requests, the ideal for the same trace, and TTL effects."""
    requests = [*warmup, *measured]
    samples = [*stats.warmup_samples, *stats.samples]
    trace = [
        Access(sample.started, *_fields(request_keys(request, enrolled, shown=sample.shown)))
        for request, sample in zip(requests, samples, strict=True)
    ]
    first_measured = len(warmup)

    def over_measured(hits: Sequence[bool]) -> float:
        chosen = [hit for access, hit in zip(trace[first_measured:], hits[first_measured:], strict=True)
                  if access.own_key is not None]
        return sum(chosen) / max(1, len(chosen))

    achieved_hits = [s.cache == "HIT" for s in samples]
    achieved = over_measured(achieved_hits)
    ideal_all = ideal_hits(trace, lambda kind: ttls[kind])
    ideal = over_measured(ideal_all)
    by_kind = {}
    for kind in (ITEM, LIST):
        picks = [i for i in range(first_measured, len(trace)) if trace[i].kind == kind]
        by_kind[kind] = {
            "achieved": round(sum(achieved_hits[i] for i in picks) / max(1, len(picks)), 4),
            "ideal": round(sum(ideal_all[i] for i in picks) / max(1, len(picks)), 4),
        }
    # The item TTL's effect: the same sequence at the deployed rate, one request every 1/rps s.
    paced = [Access(index / assumed_rps, a.kind, a.own_key, a.keys) for index, a in enumerate(trace)]
    ttl_effect = {}
    for item_ttl in ITEM_TTLS_S:

        def ttl_of(kind: str, item_ttl: float = item_ttl) -> float:
            return item_ttl if kind == "item" else ttls[kind]

        hits = ideal_hits(paced, ttl_of)
        ttl_effect[str(item_ttl)] = round(over_measured(hits), 4)
    return {
        "achieved": round(achieved, 4),
        "ideal": round(ideal, 4),
        "ratio": round(achieved / ideal, 4) if ideal else 0.0,
        "by_kind": by_kind,
        "trace_requests": len(trace),
        "trace_span_s": round(trace[-1].at - trace[0].at, 1) if trace else 0.0,
        "ttls_s": ttls,
        "ideal_by_item_ttl_at_assumed_rps": {"rps": assumed_rps, "ideal": ttl_effect},
    }


def pace_figures(
    stats: TierStats,
    warmup: Sequence[Request],
    measured: Sequence[Request],
    enrolled: dict[str, list[str]],
    ttls: dict[str, float],
) -> dict[str, Any]:
    """Hit ratio of a virtual-time replay against the compulsory-miss bound and the TTL ideal.

    The trace's times are the replay's virtual start times. The compulsory bound: each key's
    first request misses, no other does (any cache that never evicts or expires). The TTL
    ideal: the first request of each key in each TTL window misses. Both are taken over the
    measured item and list requests, the ones that answer ``X-Cache``.
    """
    requests = [*warmup, *measured]
    samples = [*stats.warmup_samples, *stats.samples]
    trace = [
        Access(sample.started, *_fields(request_keys(request, enrolled, shown=sample.shown)))
        for request, sample in zip(requests, samples, strict=True)
    ]
    first_measured = len(warmup)
    chosen = [i for i in range(first_measured, len(trace)) if trace[i].own_key is not None]

    def share(hits: Sequence[bool]) -> float:
        return sum(hits[i] for i in chosen) / max(1, len(chosen))

    achieved = share([s.cache == "HIT" for s in samples])
    compulsory = share(ideal_hits(trace, lambda _kind: float("inf")))
    ideal = share(ideal_hits(trace, lambda kind: ttls[kind]))
    return {
        "hit_ratio": round(achieved, 4),
        "compulsory_bound": round(compulsory, 4),
        "ttl_ideal": round(ideal, 4),
        "hit_ratio_vs_compulsory": round(achieved / compulsory, 4) if compulsory else 0.0,
        "requests_with_x_cache": len(chosen),
        "virtual_span_s": round(trace[-1].at - trace[0].at, 1) if trace else 0.0,
    }


def _fields(access: Access) -> tuple[str, tuple[str, str] | None, tuple[tuple[str, str], ...]]:
    return access.kind, access.own_key, access.keys


def rcu_per_item_miss(
    stats: TierStats, measured: Sequence[Request], small: Callable[[str], bool] = lambda _id: True
) -> float:
    """Mean computed read units of the measured item requests that missed the cache.

    ``small(course_id)``: whether the course's item is under 4 KB (one read unit strongly
    consistent, half of one eventually); larger items cost more by DynamoDB's sizing rules.
    """
    misses = [
        sample.rcu for request, sample in zip(measured, stats.samples, strict=True)
        if sample.kind == ITEM and sample.cache == "MISS" and small(request.event["pathParameters"]["course_id"])
    ]
    return round(sum(misses) / len(misses), 4) if misses else 0.0


# ---------------------------------------------------------------- staleness after a write


def _percentiles(values_ms: list[float]) -> dict[str, float]:
    if len(values_ms) < 2:
        value = round(values_ms[0] / 1000, 4) if values_ms else 0.0
        return {"p50": value, "p99": value, "max": value}
    cuts = quantiles(values_ms, n=100, method="inclusive")
    return {"p50": round(cuts[49] / 1000, 4), "p99": round(cuts[98] / 1000, 4), "max": round(max(values_ms) / 1000, 4)}


def measure_staleness(settings_for: Callable[[float], Any], *, writes: int, seed: int = 11) -> dict[str, Any]:
    """Staleness windows (seconds) for an item and a list, with the near cache and without.

    ``settings_for(near_ttl_s)`` builds a container's ``Settings`` on the benchmark's moto
    and Redis. Each variant seeds its own course in its own category. Before each write the
    previous write's fences have expired and the reader's tiers are warm, so every write
    lands on cached entries, as on a site whose entries are read far more than written.
    """
    rng = random.Random(seed)
    results: dict[str, Any] = {}
    for near_ttl, suffix in ((1.0, ""), (0.0, "_no_near")):
        windows = _staleness_variant(settings_for(near_ttl), near_ttl, suffix, writes, rng)
        results.update({f"{kind}{suffix}": _percentiles(values) for kind, values in windows.items()})
    return results


def _staleness_variant(
    settings: Any, near_ttl: float, suffix: str, writes: int, rng: random.Random
) -> dict[str, list[float]]:
    from courses_api.container import Container
    from courses_api.domain.auth import Caller
    from courses_api.models import CourseCreate, CoursePatch

    writer, reader = Container(settings), Container(settings)
    admin, anonymous = Caller(user_id=f"stale-admin{suffix}", groups=ADMIN_GROUPS), Caller()
    category = f"staleness{suffix.replace('_', '-')}"
    course = writer.course_writes.create(admin, CourseCreate(
        title="Stale 0", description="Staleness probe.", category=category, level="beginner", price=Decimal(1),
        status="published",
    ))

    def item_title() -> tuple[str, ...]:
        return (reader.course_reads.get_course(course.course_id, anonymous).value.title,)

    def list_titles() -> tuple[str, ...]:
        page = reader.course_reads.list_published(category=category, level=None, limit=20, cursor=None).value
        return tuple(summary.title for summary in page.items)

    version = course.version
    windows: dict[str, list[float]] = {}
    for kind, probe in (("item", item_title), ("list", list_titles)):
        windows[kind] = []
        for n in range(1, writes + 1):
            time.sleep(settings.cache_fence_ttl_ms / 1000)  # the last write's fences are gone
            reader.cache.clear_near()  # type: ignore[attr-defined]  # a fresh near entry below
            probe()  # warm the reader's tiers: Redis, then its near cache (filled now)
            probe()
            time.sleep(rng.uniform(0, max(near_ttl, 0.05)))  # the write lands anywhere in the near TTL
            title = f"Stale {kind} {n}"
            current = writer.course_repository.get(course.course_id)  # the version this write is based on
            version = current.version if current is not None else version
            updated = writer.course_writes.update(admin, course.course_id, CoursePatch(title=title),
                                                  expected_version=version)
            version = updated.version
            windows[kind].append(_stale_window(probe, title) * 1000)
    return windows


def _stale_window(
    probe: Callable[[], tuple[str, ...]], title: str, poll_s: float = 0.001, limit_s: float = 30.0
) -> float:
    """Seconds from now (the write's acknowledgement) until the first read that serves ``title`` starts.

    The start, not the end: the read that finds the new value may itself take a database
    round trip (a miss), and that is latency, not staleness.
    """
    acknowledged = time.perf_counter()
    while True:
        started = time.perf_counter()
        if title in probe():
            return max(0.0, started - acknowledged)
        if started - acknowledged > limit_s:
            raise RuntimeError(f"the new value was not served within {limit_s} s")
        time.sleep(poll_s)


# ---------------------------------------------------------------- GET /me/enrollments warm


def me_enrollments_warm_db_reads(settings: Any, user_id: str) -> dict[str, Any]:
    """DynamoDB calls of a cold, then a warm ``my_enrollments`` for one user (a fresh container)."""
    from courses_api.container import Container
    from courses_api.data.capacity import CapacityMeter
    from courses_api.domain.auth import Caller

    container = Container(settings)
    caller = Caller(user_id=user_id)
    calls: list[dict[str, int]] = []
    for _ in range(2):
        CapacityMeter.begin_request()
        page = container.enrollment_service.my_enrollments(caller, limit=20, cursor=None)
        cost = CapacityMeter.current()
        calls.append(dict(cost.calls) if cost is not None else {})
    return {"user_enrollments_on_page": len(page.items), "cold_calls": calls[0], "warm_calls": calls[1],
            "warm_db_reads": sum(calls[1].values())}


# ---------------------------------------------------------------- the lagging-replica race


def race(client: Any, table: str, redis_url: str, *, duration_s: float, lags_s: Sequence[float]) -> dict[str, Any]:
    """The race at each lag, guarded, and one unguarded control."""
    from benchmarks.replica_race import run_race

    guarded = [run_race(client, table, redis_url, guarded=True, lag_s=lag, duration_s=duration_s).as_dict()
               for lag in lags_s]
    control = run_race(client, table, redis_url, guarded=False, lag_s=max(lags_s), duration_s=duration_s).as_dict()
    return {"guarded": guarded, "unguarded_control": control,
            "stale_values_stored": sum(int(r["stale_values_stored"]) for r in guarded)}


# ---------------------------------------------------------------- all of it, for run.py


def measure(
    *,
    tiers: dict[str, TierStats],
    courses: Sequence[dict[str, Any]],
    warmup: Sequence[Request],
    measured: Sequence[Request],
    enrollments: Sequence[dict[str, Any]],
    tables: dict[str, str],
    client: Any,
    moto_url: str,
    redis_url: str,
    assumed_rps: float,
    quick: bool,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(results, details)``: the ``read_floor`` and ``staleness_after_write_s`` keys, and their details."""
    from benchmarks.metering import item_size
    from courses_api.data.dynamo import to_attributes
    from courses_api.settings import Settings

    cursor_secret = secrets.token_urlsafe(32)  # a fresh key per run, as the tiers use
    small_ids = {c["course_id"] for c in courses if item_size(to_attributes(c)) <= 4096}

    def settings(prefix: str, near_ttl_s: float = 1.0, **extra: str) -> Settings:
        return Settings.from_environment({
            **tables, "DYNAMODB_ENDPOINT": moto_url, "REDIS_URL": redis_url, "CACHE_KEY_PREFIX": prefix,
            "NEAR_CACHE_TTL_S": str(near_ttl_s), "CURSOR_SECRET": cursor_secret,
            # a conditional write retried after a slow answer fails its own condition: no retry on a timeout
            "DYNAMODB_READ_TIMEOUT_S": "20", **extra,
        })

    defaults = settings("bench-floor")
    ttls = {"item": float(defaults.cache_item_ttl_s), "list": float(defaults.cache_list_ttl_s),
            "me": float(defaults.cache_list_ttl_s)}
    enrolled: dict[str, list[str]] = {}
    for row in enrollments:
        enrolled.setdefault(row["user_id"], []).append(row["course_id"])
    best = "gsi_redis_near"
    hit = {name: hit_ratio_vs_ideal(tiers[name], warmup, measured, enrolled, ttls, assumed_rps)
           for name in ("gsi_redis", "gsi_redis_near")}
    busiest = max(enrolled, key=lambda user: (len(enrolled[user]), user))
    me = me_enrollments_warm_db_reads(settings("bench-me"), busiest)
    # moto has no replica lag, so a short fence loses nothing here and keeps the run short.
    writes = 3 if quick else 20
    staleness = measure_staleness(
        lambda near: settings(f"bench-stale-{int(near * 1000)}", near, CACHE_FENCE_TTL_MS="300"), writes=writes
    )
    fences = race(client, tables["COURSES_TABLE"], redis_url, duration_s=1.0 if quick else 3.0,
                  lags_s=(0.1,) if quick else (0.05, 0.2, 0.5))
    results = {
        "read_floor": {
            "rcu_per_item_miss": rcu_per_item_miss(tiers[best], measured, small_ids.__contains__),
            "me_enrollments_warm_db_reads": me["warm_db_reads"],
            "hit_ratio_vs_ideal": hit[best]["ratio"],
            "stale_values_stored_lagging_replica": fences["stale_values_stored"],
        },
        "staleness_after_write_s": staleness,
    }
    details = {"hit_ratio_vs_ideal": hit, "me_enrollments": me, "lagging_replica_race": fences,
               "rcu_per_item_miss_by_tier": {
                   name: {"items_under_4kb": rcu_per_item_miss(tiers[name], measured, small_ids.__contains__),
                          "all_items": rcu_per_item_miss(tiers[name], measured)}
                   for name in ("gsi_redis", best)},
               "items_under_4kb_share": round(len(small_ids) / max(1, len(courses)), 4),
               "staleness": {"writes_per_variant": writes, "fence_ttl_ms": 300, "poll_ms": 1,
                             "from": "the write's acknowledgement to the start of the first fresh read"}}
    return results, details
