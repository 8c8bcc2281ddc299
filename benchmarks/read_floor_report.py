"""The read-floor section of ``docs/BENCHMARKS.md``: hit ratio against its bound, staleness, fences."""

from __future__ import annotations

from typing import Any


def markdown_section(results: dict[str, Any], details: dict[str, Any]) -> str:
    """The section on hit ratio against its bound, staleness after a write and version fences."""
    floor = results["read_floor"]
    extra = details.get("read_floor", {})
    hit = extra.get("hit_ratio_vs_ideal", {}).get("gsi_redis_near", {})
    by_kind = hit.get("by_kind", {})
    kind_rows = "\n".join(
        f"| {kind} | {v['achieved']:.4f} | {v['ideal']:.4f} | {v['achieved'] / v['ideal'] if v['ideal'] else 0:.4f} |"
        for kind, v in by_kind.items()
    )
    ttl = hit.get("ideal_by_item_ttl_at_assumed_rps", {})
    ttl_rows = "\n".join(f"| {seconds} s | {value:.4f} |" for seconds, value in ttl.get("ideal", {}).items())
    stale = results["staleness_after_write_s"]
    names = {"item": "item, near cache on", "list": "list, near cache on",
             "item_no_near": "item, near cache off", "list_no_near": "list, near cache off"}
    stale_rows = "\n".join(
        f"| {names.get(name, name)} | {v['p50']:.3f} | {v['p99']:.3f} | {v['max']:.3f} |" for name, v in stale.items()
    )
    race = extra.get("lagging_replica_race", {})
    race_rows = "\n".join(
        f"| {r['lag_ms']:.0f} ms | {'fenced' if r['guarded'] else 'unguarded control'} | {r['writes']} | {r['reads']} "
        f"| {r['lagging_reads']} | {r['stale_values_stored']} |"
        for r in [*race.get("guarded", []), *([race["unguarded_control"]] if "unguarded_control" in race else [])]
    )
    me = extra.get("me_enrollments", {})
    per_miss = extra.get("rcu_per_item_miss_by_tier", {}).get("gsi_redis_near", {})
    writes = extra.get("staleness", {}).get("writes_per_variant", 0)
    return f"""## The read floor: misses, warm paths, the hit ratio's bound, staleness

- **Read units per item miss**: {floor["rcu_per_item_miss"]:.2f} for courses under 4 KB
  ({100 * extra.get("items_under_4kb_share", 0):.1f} % of them; {per_miss.get("all_items", 0):.3f} over every
  course). A miss reads the row eventually consistently; the version fence an invalidation leaves behind decides
  whether that row may be stored, or must be read again strongly consistently (see `docs/ARCHITECTURE.md`).
- **`GET /me/enrollments` warm**: {floor["me_enrollments_warm_db_reads"]} DynamoDB reads (cold:
  {", ".join(f"{n} {op}" for op, n in me.get("cold_calls", {}).items())}); the user's list and the course
  summaries both come from Redis.
- **Hit ratio against its bound** (`gsi_redis_near`): achieved {hit.get("achieved", 0):.4f}, ideal
  {hit.get("ideal", 0):.4f} for the same trace of {hit.get("trace_requests", 0):,} requests over
  {hit.get("trace_span_s", 0):.0f} s: **{floor["hit_ratio_vs_ideal"]:.4f} of ideal**. The ideal is any cache with the
  same TTLs (items {hit.get("ttls_s", {}).get("item", 0):.0f} s, lists {hit.get("ttls_s", {}).get("list", 0):.0f} s)
  in which the first request of each key in each TTL window misses and every other one hits; `GET /me/enrollments`
  requests fill the item cache too, so they are part of the trace, and the ratio is taken over the item and list
  requests of the measured pass (the ones that answer `X-Cache`).

| requests | achieved | ideal | ratio |
|---|---:|---:|---:|
{kind_rows}

The tiers serve their trace far faster than production traffic would (the virtual-time replays below run it at
production pace). The item TTL's effect is the same ideal replayed at {ttl.get("rps", 0):.0f} requests/s (the rate
the cost column assumes), changing only the item TTL:

| item TTL | ideal hit ratio |
|---|---:|
{ttl_rows}

- **Staleness after a write, across containers** (seconds from the write's acknowledgement until the first read
  of another container that serves the new value starts; {writes} writes per row, polled every ~1 ms;
  wall-clock figures, so p50/p99/max are the spread):

| entry | p50 s | p99 s | max s |
|---|---:|---:|---:|
{stale_rows}

  Redis is invalidated before the write is acknowledged, so without the near cache the window is at most one
  poll interval plus a read that had started before the acknowledgement; with it, a reader keeps its near
  entry until the near TTL (1 s) runs out, which puts the window anywhere between 0 and 1 s (uniform, since
  writes land at random points of it).
- **Version fences under a lagging replica** ([`benchmarks/replica_race.py`](../benchmarks/replica_race.py)):
  a DynamoDB double (moto has no replica lag) answers eventually consistent reads with the row as it was the lag
  earlier; writers and reader containers race on four hot courses while a sampler reads Redis. A value found
  stored that is older than a version whose invalidation had finished is a stale value stored.

| replica lag | fill check | writes | reads | reads answered with an older row | stale values stored |
|---|---|---:|---:|---:|---:|
{race_rows}
"""
