"""Metric names and the small part of Powertools ``Metrics`` the cache uses."""

from __future__ import annotations

from typing import Protocol

from aws_lambda_powertools.metrics import MetricUnit

CACHE_HIT = "CacheHit"
CACHE_NEAR_HIT = "CacheNearHit"  # a CacheHit served from the near cache (subset of CacheHit)
CACHE_MISS = "CacheMiss"
CACHE_BYPASS = "CacheBypass"
CACHE_ERROR = "CacheError"
CACHE_LEASE_WAIT = "CacheLeaseWait"
BREAKER_OPEN = "BreakerOpen"


class MetricsSink(Protocol):
    """Satisfied by ``aws_lambda_powertools.Metrics`` (flushed by ``@log_metrics``)."""

    def add_metric(self, name: str, unit: MetricUnit | str, value: float) -> None: ...


class NullMetrics:
    """Discards metrics (benchmarks, scripts)."""

    def add_metric(self, name: str, unit: MetricUnit | str, value: float) -> None:
        return None


COUNT = MetricUnit.Count
