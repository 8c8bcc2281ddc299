"""Sections of ``docs/BENCHMARKS.md`` on production pace, the whole bill and the hot course."""

from __future__ import annotations

from typing import Any

SERVICE_LABELS = {
    "api_gateway": "API Gateway",
    "lambda": "Lambda (the function)",
    "authorizer": "Lambda (authorizer)",
    "dynamodb": "DynamoDB",
    "elasticache": "ElastiCache",
}
HOT_LABELS = {
    "near_cache": "near cache on (as deployed)",
    "no_near_cache": "near cache off",
    "redis_down": "Redis refused, near cache on",
}
HOT_MECHANISM = {
    "near_cache": "Redis holds the page, so DynamoDB sees one refill per change, taken under one lease; each "
    "container asks Redis once per near-cache TTL",
    "no_near_cache": "the same lease keeps DynamoDB at one refill per change; every request is a Redis `GET` of the "
    "page, all on its one slot",
    "redis_down": "a read that bypasses Redis fills the near cache, so each container reads DynamoDB once per "
    "near-cache TTL (strongly consistent, 1 unit) instead of on every request",
}


def percent(ratio: float) -> str:
    """A ratio as a percentage with five significant digits (0.0097 % is not 0.00971 %)."""
    return f"{100 * ratio:.5f} %"


def production_pace_section(results: dict[str, Any], details: dict[str, Any]) -> str:
    """Virtual-time replays at 100 and 1,000 requests/s: read units, hit ratio, its compulsory bound, staleness."""
    pace = details.get("production_pace")
    if not pace:
        return ""
    rows = []
    for rps, figures in pace["paces"].items():
        identical = figures.get("identical_across_replays")
        repeat = {True: f"yes ({figures['replays']} replays)", False: "**no**", None: "one replay"}[identical]
        rows.append(
            f"| {int(rps):,}/s | {figures['virtual_span_s']:,.0f} s | {figures['rcu_per_1000_requests']:.2f} | "
            f"{percent(figures['rcu_ratio_to_scan'])} | {figures['hit_ratio']:.4f} | "
            f"{figures['compulsory_bound']:.4f} | "
            f"{figures['hit_ratio_vs_compulsory']:.4f} | {figures['redis_expiries_due']} | {repeat} | "
            f"{figures['wall_latency_ms']['p50']:.2f} / {figures['wall_latency_ms']['p99']:.2f} |"
        )
    ttls = pace["ttls_s"]
    table = "\n".join(rows)
    return f"""## At production pace (virtual time)

The tiers above replay their trace as fast as this machine serves it. Here the deployed tier (`gsi_redis_near`)
replays the same warm-up and measured passes on one simulated clock
([`benchmarks/virtual_time.py`](../benchmarks/virtual_time.py)): request *i* starts at *i* / pace, and that clock
is every clock the cache reads (near-cache TTL, the expiry a fill stores, lease waits, the breaker). It stands
still during a request, so no figure but handler latency depends on the machine or the run; latency is still
measured on the wall clock and labelled so.

| pace | trace spans | RCU / 1k req | of Scan baseline | hit ratio | compulsory bound | ÷ bound | Redis expiries due | repeats | p50 / p99 ms (wall) |
|---|---:|---:|---:|---:|---:|---:|---:|---|---:|
{table}

- **Hit ratio** is over the measured requests that answer `X-Cache` (item and list reads); the **compulsory
  bound** is the same trace with each key's first request a miss and no other.
- **TTLs follow from invalidation being write-driven** (the write path right after it commits, the stream
  again): items {ttls["item"]:.0f} s, lists {ttls["list"]:.0f} s (less up to {100 * pace["ttl_jitter"]:.0f} % jitter,
  so the shortest entry lives {pace["shortest_redis_ttl_s"]:.0f} s). A TTL bounds memory (ElastiCache Serverless bills
  stored GB-hours: one hour's working set, here the whole catalogue under the 100 MB minimum) and the
  **staleness of a key whose every invalidation was lost: {pace["worst_case_staleness_if_every_invalidation_is_lost_s"]:,.0f} s**
  (the TTL plus the near cache's {pace["near_cache_ttl_s"]:.0f} s). A 300 s TTL made the hit ratio depend on traffic
  density (0.898 ideal at 100/s against 0.923 at replay pace, an earlier run's estimate); at an hour neither
  clock reaches an expiry within the trace, so Redis (expiring on its own wall clock) and the model agree:
  none is due.
"""  # noqa: E501 - a Markdown section


def whole_bill_section(results: dict[str, Any], details: dict[str, Any]) -> str:
    """USD per million requests by service, every service a request touches."""
    bill = results.get("usd_per_million_whole_bill")
    if not bill:
        return ""
    extra = details.get("whole_bill", {})
    header = "| tier | " + " | ".join(SERVICE_LABELS.values()) + " | total |"
    rows = "\n".join(
        f"| `{tier}` | "
        + " | ".join(f"{parts[name]:.3f}" for name in SERVICE_LABELS)
        + f" | **{parts['total']:.2f}** |"
        for tier, parts in bill.items()
    )
    routes = extra.get("route_authorizers", {})
    lambda_routes = ", ".join(f"`{name}`" for name, kind in sorted(routes.items()) if kind == "lambda") or "none"
    share = extra.get("authorizer_invocations_per_request", 0.0)
    best = min(bill, key=lambda tier: bill[tier]["total"])
    check = extra.get("token_check", {})
    cold = check.get("cold_ms", {})
    signed = extra.get("token_bearing_get", {}).get(best, {})
    token_lines = (
        f"""- **A token-bearing `GET`** (an owner's or admin's read of a draft, an admin's `/health`) pays its
  verification in the function instead: {check.get("verify_ms_mean", 0):.3f} ms on average warm (p50
  {check.get("verify_ms_p50", 0):.3f}, p99 {check.get("verify_ms_p99", 0):.3f}; {check.get("runs", 0):,} runs of
  `courses_api.tokens.verify`, RS256), billed at {check.get("memory_mb", 0)} MB: ${signed.get("token_check", 0):.6f}
  per million, so a million token-bearing `GET`s of the best tier cost ${signed.get("total", 0):.4f} against
  ${bill[best]["total"]:.4f} anonymous. The first token a container sees also imports PyJWT and cryptography:
  {cold.get("median", 0):.0f} ms ({cold.get("min", 0):.0f}-{cold.get("max", 0):.0f}, {cold.get("runs", 0)} fresh
  processes on Python {cold.get("python", "?")}, import and one verification), which an anonymous cold start never pays.
"""
        if check else "")
    return f"""## The whole bill (USD per million requests)

What a million requests of the mix cost with every service they touch: API Gateway's REST API
(${extra.get("api_gateway", {}).get("usd_per_million_requests", 3.5):.2f} per million,
[pricing](https://aws.amazon.com/api-gateway/pricing/)), the function's invocation and duration, a Lambda
authorizer's (where a route has one), DynamoDB and ElastiCache (storage spread over the assumed traffic, plus
ECPUs), at the prices of [`benchmarks/prices.json`](../benchmarks/prices.json).

{header}
|---|{"---:|" * (len(SERVICE_LABELS) + 1)}
{rows}

- **No Lambda authorizer** runs (routes whose template entry names one: {lambda_routes}; {share:.3f} authorizer
  invocations per request of this mix). `GET /courses/{{id}}`, instructor lists and `/health` have no authorizer
  (a REST API calls a Lambda authorizer on every request, token or not), so an anonymous `GET` is one invocation.
{token_lines}- API Gateway is most of every cached tier's bill: below it, caching changes cents, not dollars.
"""


def hot_course_section(results: dict[str, Any], details: dict[str, Any]) -> str:
    """One course at 50,000 requests/s on 1,000 containers, against DynamoDB's and ElastiCache's per-key limits."""
    hot = results.get("hot_course_reads")
    if not hot:
        return ""
    extra = details.get("hot_course_reads", {})
    limits = extra.get("limits", {})
    runs = extra.get("scenarios", {})
    rows = "\n".join(
        f"| {HOT_LABELS.get(name, name)} | {figures['max_partition_rcu_per_s']:,.1f} | "
        f"{figures['max_slot_ecpu_per_s']:,.0f} | {HOT_MECHANISM.get(name, '')} |"
        for name, figures in hot.items()
    )
    every = runs.get("redis_down", {}).get("every_request_reads_rcu_per_s", 0.0)
    simulated = runs.get("near_cache", {}).get("simulated", {})
    over = [
        HOT_LABELS.get(name, name)
        for name, f in hot.items()
        if f["max_slot_ecpu_per_s"] > limits.get("slot_ecpu_per_s", 30_000)
    ]
    over_text = (
        f" Over the slot's {limits.get('slot_ecpu_per_s', 30_000):,} ECPU/s: {', '.join(over)} "
        f"(within the {limits.get('slot_ecpu_per_s_read_from_replica', 90_000):,} of reads from replicas only "
        "if the client read from them, which this one does not)."
        if over
        else ""
    )
    return f"""## A hot course, read side ([`benchmarks/hot_course.py`](../benchmarks/hot_course.py))

One course page at {extra.get("total_rps", 50_000):,} requests/s spread over {extra.get("containers", 1_000):,} warm
containers ({extra.get("total_rps", 50_000) // max(1, extra.get("containers", 1_000))} a second each), the course
changing once a second (a launch moving its count; each change invalidates the item). {simulated.get("containers", 0)}
containers, each a fresh `get_course` module, serve their share for {simulated.get("virtual_seconds", 0):.0f} virtual
seconds through the real handler; what one container does is multiplied up, what all share (the refill under
the lease, the invalidation) is not. Limits: DynamoDB {limits.get("partition_rcu_per_s", 3000):,} read units/s per
partition ([partition key design](https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html));
ElastiCache Serverless {limits.get("slot_ecpu_per_s", 30_000):,} ECPUs/s per slot, every key of one page being
in one slot ([quotas](https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/quota-limits.html)).

| readers | busiest partition, RCU/s | the page's slot, ECPU/s | what keeps it there |
|---|---:|---:|---|
{rows}

Reading DynamoDB on every request, as a bypass did before it filled the near cache, would put
{every:,.0f} RCU/s on the course's partition with Redis down.{over_text}
"""


def goals(results: dict[str, Any], details: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """This module's goals: (goal, target, measured, met)."""
    rows: list[tuple[str, str, str, bool]] = []
    pace = results.get("production_pace", {})
    if "100" in pace:
        ratio = pace["100"]["rcu_ratio_to_scan"]
        rows.append(
            (
                "read units ÷ Scan baseline at 100 requests/s (deployed tier)",
                "≤ 0.0097 %",
                percent(ratio),
                100 * ratio <= 0.0097,
            )
        )
    for rps in ("100", "1000"):
        if rps in pace:
            value = pace[rps]["hit_ratio_vs_compulsory"]
            rows.append((f"hit ratio ÷ compulsory bound at {int(rps):,}/s", "≥ 0.99", f"{value:.4f}", value >= 0.99))
    paces = details.get("production_pace", {}).get("paces", {})
    if paces:
        same = all(p.get("identical_across_replays") is not False for p in paces.values())
        rows.append(("figures identical across replays (all but wall latency)", "yes", "yes" if same else "no", same))
    bill = results.get("usd_per_million_whole_bill", {})
    if bill:
        best = min(bill, key=lambda tier: bill[tier]["total"])
        rows.append(("whole bill, best tier", "reported", f"${bill[best]['total']:.2f} per million", True))
        anonymous = bill[best]["authorizer"]
        rows.append(("authorizer share for anonymous GETs", "$0", f"${anonymous:.3f} per million", anonymous == 0))
    hot = results.get("hot_course_reads", {})
    if hot:
        busiest = max(f["max_partition_rcu_per_s"] for f in hot.values())
        rows.append(
            (
                "hot course at 50k/s: busiest DynamoDB partition, Redis up and down",
                "≤ 3,000 RCU/s",
                f"{busiest:,.0f} RCU/s",
                busiest <= 3000,
            )
        )
    artifact = results.get("cold_start_artifact_ms", {})
    if artifact.get("ours") and artifact.get("naive"):
        ratio = artifact["ours"] / artifact["naive"]
        rows.append(
            (
                "cold start of the built artifact under the emulator (median)",
                "≤ 1.5 x naive",
                f"{artifact['ours']:.0f} ms = {ratio:.2f} x naive ({artifact['naive']:.0f} ms)",
                ratio <= 1.5,
            )
        )
        rows.append(
            (
                "bytecode in the built layer and functions",
                "all",
                "all" if artifact["bytecode_shipped"] else "**not all**",
                bool(artifact["bytecode_shipped"]),
            )
        )
    return rows
