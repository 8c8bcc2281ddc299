"""A hot course, read side: one course page at 50,000 requests/s across 1,000 warm containers.

``make bench-writes`` models a launch's writes per partition; this models its reads the same
way, through the real code: a handful of containers (each a fresh ``get_course`` module,
with its own near cache and Redis client) serve their share of the page's requests (50 a
second each, as 1,000 containers share 50,000) on one virtual clock
(:mod:`benchmarks.virtual_time`), against the benchmark's moto and Redis, while the course
changes once a second (a launch moves its enrollment count; each copy invalidates the item
as the stream invalidator does, with no version fence, so each refill is a strongly
consistent read). What one container does is then multiplied up to 1,000; what all
containers share (the refill after an invalidation, taken under one lease) is not.

Against the limits of the two stores the page lives in:

* **DynamoDB**: 3,000 read units per second per partition; one item lives in one partition
  (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html,
  "Burst and adaptive capacity": 3,000 RCU and 1,000 WCU per partition per second).
* **ElastiCache Serverless**: every key of the page (value, lease, fence) hashes to one slot,
  and a slot serves up to 30,000 ECPUs per second (90,000 with reads from replicas), per
  the ElastiCache quotas page (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/quota-limits.html,
  "Serverless cache quotas"). An ECPU is 1 per simple command and per KB transferred; the
  model takes max(commands, KB in + out), as ``prices.json`` says.

Scenarios: the deployed near cache (1 s); no near cache (every request goes to Redis);
Redis unavailable (connection refused, breaker open), near cache on.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from benchmarks.virtual_time import VirtualClock, driving
from benchmarks.workload import build_event

TOTAL_RPS = 50_000
CONTAINERS = 1_000
PARTITION_RCU_PER_S = 3_000
SLOT_ECPU_PER_S = 30_000
SLOT_ECPU_PER_S_REPLICAS = 90_000
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: every connection is refused


@dataclass(frozen=True, slots=True)
class Scenario:
    """One configuration of the page's readers."""

    name: str
    near_ttl_s: float
    redis_up: bool
    containers: int = 8
    seconds: float = 10.0


SCENARIOS = (
    Scenario("near_cache", 1.0, True),
    Scenario("no_near_cache", 0.0, True),
    Scenario("redis_down", 1.0, False),
)


def _redis_counters(client: Any) -> tuple[int, int]:
    stats = client.info("stats")
    return int(stats["total_commands_processed"]), int(stats["total_net_input_bytes"]) + int(
        stats["total_net_output_bytes"]
    )


def run_scenario(
    scenario: Scenario, course_id: str, env: dict[str, str], redis_url: str, redis_client: Any
) -> dict[str, Any]:
    """Serve the page from ``scenario.containers`` containers for ``scenario.seconds`` virtual seconds."""
    from benchmarks.tiers import Discard, environment
    from courses_api.data.capacity import CapacityMeter
    from local.invoke import load_function, new_context

    per_container_rps = TOTAL_RPS / CONTAINERS
    settings = {
        **env,
        "NEAR_CACHE_TTL_S": str(scenario.near_ttl_s),
        "REDIS_URL": redis_url if scenario.redis_up else UNREACHABLE_REDIS,
        "CACHE_KEY_PREFIX": f"bench-hot-{scenario.name.replace('_', '-')}",
    }
    event = build_event("get_course", path_parameters={"course_id": course_id})
    clock = VirtualClock()
    reads = 0
    rcu = 0.0
    requests = 0
    outcomes: dict[str, int] = {}
    shared = [0, 0]  # the invalidations' commands and bytes: sent once for every container, not per container
    with environment(settings), driving(clock), contextlib.redirect_stdout(Discard()):
        modules = [load_function("get_course") for _ in range(scenario.containers)]
        writer = load_function("get_course")  # its container sends the invalidations
        before = _redis_counters(redis_client)
        ticks = int(scenario.seconds * per_container_rps)
        next_invalidation = 1.0
        for tick in range(ticks):
            for index, module in enumerate(modules):
                # The containers' requests interleave evenly within each tick.
                clock.at((tick + index / len(modules)) / per_container_rps)
                if clock.now - clock.start >= next_invalidation:
                    sent = _redis_counters(redis_client)
                    writer.container.cache.invalidate([course_id], [])
                    done = _redis_counters(redis_client)
                    shared[0] += done[0] - sent[0] - 1  # minus the INFO itself
                    shared[1] += done[1] - sent[1]
                    next_invalidation += 1.0
                CapacityMeter.begin_request()
                response = module.lambda_handler(dict(event), new_context("get_course"))
                if response["statusCode"] != 200:
                    raise RuntimeError(f"hot course read answered {response['statusCode']}")
                cost = CapacityMeter.current()
                if cost is not None:
                    reads += sum(cost.calls.values())
                    rcu += cost.computed_rcu
                cache = (response.get("headers") or {}).get("X-Cache") or (response.get("multiValueHeaders") or {}).get(
                    "X-Cache", ["none"]
                )[-1]
                outcomes[cache] = outcomes.get(cache, 0) + 1
                requests += 1
        after = _redis_counters(redis_client)
    invalidations = int(scenario.seconds)
    commands = after[0] - before[0] - 1 - 2 * invalidations - shared[0]  # minus our INFO calls and the writer's
    kilobytes = (after[1] - before[1] - shared[1]) / 1024
    seconds = scenario.seconds
    # Per container: what each of the simulated ones did, on average, in a second; plus the writer's, once.
    readers_ecpu_s = max(commands, kilobytes) / scenario.containers / seconds * CONTAINERS
    writer_ecpu_s = max(shared[0], shared[1] / 1024) / seconds
    slot_ecpu = readers_ecpu_s + writer_ecpu_s if scenario.redis_up else 0.0
    rcu_per_s_simulated = rcu / seconds
    # With Redis up, DynamoDB reads are refills after invalidations, taken once under the lease for
    # every container; with Redis down, each container reads on its own, so its share scales.
    partition_rcu = rcu_per_s_simulated if scenario.redis_up else rcu_per_s_simulated / scenario.containers * CONTAINERS
    return {
        "max_partition_rcu_per_s": round(partition_rcu, 1),
        "max_slot_ecpu_per_s": round(slot_ecpu, 1),
        "simulated": {
            "containers": scenario.containers,
            "virtual_seconds": seconds,
            "requests": requests,
            "outcomes": dict(sorted(outcomes.items())),
            "dynamodb_calls": reads,
            "read_units": round(rcu, 2),
            "redis_commands": commands if scenario.redis_up else 0,
            "redis_kb": round(kilobytes, 1) if scenario.redis_up else 0.0,
            "invalidations": invalidations,
        },
        # What reading DynamoDB on every request would cost (a bypass with no near-cache fill).
        "every_request_reads_rcu_per_s": round(TOTAL_RPS * rcu / reads, 1) if reads else 0.0,
        "near_ttl_s": scenario.near_ttl_s,
        "redis": "up" if scenario.redis_up else "refused",
    }


def measure(
    course_id: str, env: dict[str, str], redis_url: str, redis_client: Any, *, quick: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(results, details)``: the ``hot_course_reads`` key of ``latest.json`` and what stands behind it."""
    scenarios = [Scenario(s.name, s.near_ttl_s, s.redis_up, 3, 3.0) if quick else s for s in SCENARIOS]
    runs = {scenario.name: run_scenario(scenario, course_id, env, redis_url, redis_client) for scenario in scenarios}
    results = {
        name: {key: run[key] for key in ("max_partition_rcu_per_s", "max_slot_ecpu_per_s")}
        for name, run in runs.items()
    }
    details = {
        "scenarios": runs,
        "total_rps": TOTAL_RPS,
        "containers": CONTAINERS,
        "limits": {
            "partition_rcu_per_s": PARTITION_RCU_PER_S,
            "slot_ecpu_per_s": SLOT_ECPU_PER_S,
            "slot_ecpu_per_s_read_from_replica": SLOT_ECPU_PER_S_REPLICAS,
        },
        "course_id": course_id,
    }
    return results, details
