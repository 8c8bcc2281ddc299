"""The cold path to the cache: a new client's first GET, ours against stock ``RedisCluster``.

    PYTHONPATH=.:layers/shared .venv/bin/python -m benchmarks.first_contact [--samples 30]

On the ElastiCache stand-in (three TLS shards). Each sample builds a new client and times
client construction plus one GET, the work a cold Lambda container does before its first
cache answer; the connections it opened are read from the nodes' AUTH and HELLO counts. Ours is
``create_redis_client`` (RESP2, no COMMAND, no CLIENT SETINFO, one TLS context); stock is
``RedisCluster(ssl=True, ...)`` as redis-py builds it by default, run as the stand-in's admin
user because the cache user may not send its ``COMMAND``. Samples alternate between the two.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from redis.cluster import RedisCluster

from local.redis_server import ADMIN_USER, ElastiCacheStandIn, start_elasticache_standin
from tests.support.elasticache import TEST_KEY_PREFIX, audit, product_client


def _stock(standin: ElastiCacheStandIn) -> Any:
    return RedisCluster(host="127.0.0.1", port=standin.nodes[0].port, ssl=True,
                        ssl_ca_certs=standin.certificates.ca_file, username=ADMIN_USER,
                        password=standin.admin_password, socket_timeout=1, socket_connect_timeout=1)


def _ours(standin: ElastiCacheStandIn) -> Any:
    return product_client(standin, 1000)


def _sample(standin: ElastiCacheStandIn, build: Any) -> tuple[float, int]:
    audit(standin)  # reset the counters
    started = time.perf_counter()
    client = build(standin)
    client.get(f"{TEST_KEY_PREFIX}:first-contact")
    elapsed_ms = (time.perf_counter() - started) * 1000
    client.close()
    commands = audit(standin).commands
    return elapsed_ms, commands["auth"] + commands["hello"]  # one AUTH (RESP2) or HELLO (RESP3) per connection


def _summary(values: list[float]) -> dict[str, float]:
    deciles = statistics.quantiles(values, n=10)
    return {"median": round(statistics.median(values), 1), "p10": round(deciles[0], 1),
            "p90": round(deciles[-1], 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args(argv)
    standin = start_elasticache_standin((TEST_KEY_PREFIX,))
    try:
        results: dict[str, dict[str, list[float]]] = {name: {"ms": [], "connections": []} for name in ("ours", "stock")}
        for _ in range(args.samples):
            for name, build in (("ours", _ours), ("stock", _stock)):
                elapsed_ms, connections = _sample(standin, build)
                results[name]["ms"].append(elapsed_ms)
                results[name]["connections"].append(connections)
        report = {name: {"first_get_ms": _summary(values["ms"]),
                         "connections": sorted(set(values["connections"]))}
                  for name, values in results.items()}
        print(json.dumps(report, indent=2))
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
