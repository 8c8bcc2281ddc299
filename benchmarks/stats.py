"""Per-request samples, their (weighted) summaries, and the price of a million requests."""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PRICES_PATH = Path(__file__).resolve().parent / "prices.json"


@dataclass(frozen=True, slots=True)
class Sample:
    """What one measured request cost: handler time, computed read units, cache outcome."""

    kind: str
    ms: float
    rcu: float
    cache: str  # X-Cache header value, "" when the response has none
    status: int
    scans: int = 0  # DynamoDB Scan calls the request made (only the naive reference may)
    started: float = 0.0  # perf_counter() when the request started (the trace's clock)
    shown: tuple[str, ...] = ()  # the course ids a list page showed (their item entries were read too)


def percentile(values: list[float], weights: list[float], q: float) -> float:
    """Weighted percentile (lower interpolation): the smallest value with cumulative weight ≥ q."""
    if not values:
        return math.nan
    pairs = sorted(zip(values, weights, strict=True))
    total = sum(weights)
    target = q * total
    running = 0.0
    for value, weight in pairs:
        running += weight
        if running >= target - 1e-12:
            return value
    return pairs[-1][0]


@dataclass
class RedisUsage:
    """Redis work during a measured pass, from INFO deltas (for the ECPU estimate)."""

    commands: int = 0
    bytes_transferred: int = 0
    used_memory_bytes: int = 0


@dataclass
class TierStats:
    """Summary of one tier. ``weights`` make a stratified sample stand for the workload mix."""

    name: str
    samples: list[Sample]
    kind_weights: dict[str, float]  # weight of one sample of each kind
    redis: RedisUsage = field(default_factory=RedisUsage)
    wall_s: float = 0.0
    warmup_samples: list[Sample] = field(default_factory=list)  # the same trace's warm-up pass

    def _weights(self) -> list[float]:
        return [self.kind_weights.get(s.kind, 1.0) for s in self.samples]

    def _mean(self, values: list[float]) -> float:
        weights = self._weights()
        return sum(v * w for v, w in zip(values, weights, strict=True)) / max(sum(weights), 1e-12)

    @property
    def rcu_per_request(self) -> float:
        return self._mean([s.rcu for s in self.samples])

    @property
    def hit_ratio(self) -> float:
        """Share of requests answered from a cache (``X-Cache: HIT``), over all requests."""
        return self._mean([1.0 if s.cache == "HIT" else 0.0 for s in self.samples])

    @property
    def billed_ms(self) -> float:
        """Mean Lambda billed duration (1 ms granularity)."""
        return self._mean([float(math.ceil(s.ms)) for s in self.samples])

    def latency(self) -> dict[str, float]:
        values = [s.ms for s in self.samples]
        weights = self._weights()
        return {f"p{q}": round(percentile(values, weights, q / 100), 3) for q in (50, 95, 99)}

    def sample_sizes(self) -> dict[str, int]:
        counts = Counter(s.kind for s in self.samples)
        return {"total": len(self.samples), **dict(sorted(counts.items()))}

    def outcomes(self) -> dict[str, int]:
        return dict(sorted(Counter(s.cache or "none" for s in self.samples).items()))

    def errors(self) -> int:
        return sum(1 for s in self.samples if s.status >= 500)


def load_prices(path: Path = PRICES_PATH) -> dict[str, Any]:
    prices: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return prices


def usd_per_million(stats: TierStats, prices: dict[str, Any], memory_mb: int) -> dict[str, float]:
    """Cost of a million requests of this tier's mix, split by service, and the total."""
    dynamodb = stats.rcu_per_request * prices["dynamodb"]["usd_per_million_read_request_units"]
    lam = prices["lambda"]
    gb_seconds = (memory_mb / 1024) * (stats.billed_ms / 1000)
    lambda_usd = gb_seconds * lam["usd_per_gb_second"] * 1e6 + lam["usd_per_million_requests"]
    cache_usd = 0.0
    measured = len(stats.samples)
    if stats.redis.commands and measured:
        ec = prices["elasticache_serverless"]
        ecpu_per_request = max(stats.redis.commands, stats.redis.bytes_transferred / 1024) / measured
        stored_gb = max(ec["minimum_billed_gb"], stats.redis.used_memory_bytes / 1024**3)
        requests_per_hour = prices["traffic_assumption"]["requests_per_second"] * 3600
        storage_per_million = stored_gb * ec["usd_per_gb_hour_stored"] / requests_per_hour * 1e6
        cache_usd = ecpu_per_request * ec["usd_per_million_ecpu"] + storage_per_million
    return {
        "dynamodb": round(dynamodb, 4),
        "lambda": round(lambda_usd, 4),
        "elasticache": round(cache_usd, 4),
        "total": round(dynamodb + lambda_usd + cache_usd, 4),
    }
