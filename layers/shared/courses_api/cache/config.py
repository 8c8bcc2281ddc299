"""What the cache is built from, and building it: one frozen config (once per container from
:class:`~courses_api.settings.Settings`, or by tests with test-sized values), a clock that
everything time-dependent reads (so tests can drive time), and :func:`build_cache`.

The Redis-backed parts are imported only when a Redis tier is configured, and redis-py itself
only when the manager creates its client (on first use: ``RedisCluster`` connects in its
constructor), so building the cache costs no redis-py import.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from courses_api.cache.api import NullCache, ReadThroughCache
from courses_api.cache.entries import KeySpace
from courses_api.cache.metrics import MetricsSink
from courses_api.settings import Settings

if TYPE_CHECKING:
    from courses_api.cache.client import RedisClient
    from courses_api.cache.guard import WarningLogger
    from courses_api.cache.manager import RedisCacheManager

GENERATION_TTL_MS = 24 * 3600 * 1000  # > any page TTL; refreshed by fills and invalidations
FENCE_RETENTION_MS = 24 * 3600 * 1000  # > any stream, queue or replica lag (streams keep 24 h)


class Clock(Protocol):
    """The time sources of the cache: ``monotonic`` for durations (lease waits, the near cache,
    the breaker), ``time`` (wall clock) for generation seeds, ``sleep`` between lease polls."""

    def monotonic(self) -> float: ...

    def time(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The process's clocks."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


# The settings each field comes from: a field's default is its setting's, so they cannot drift.
SETTING_OF = {
    "item_ttl_s": "cache_item_ttl_s", "list_ttl_s": "cache_list_ttl_s", "negative_ttl_s": "cache_negative_ttl_s",
    "fence_ttl_ms": "cache_fence_ttl_ms", "near_ttl_s": "near_cache_ttl_s",
    "near_max_entries": "near_cache_max_entries", "near_max_bytes": "near_cache_max_bytes",
    "breaker_failure_threshold": "breaker_failure_threshold", "breaker_cooldown_s": "breaker_cooldown_s",
}


def _default(name: str) -> Any:
    return Settings.model_fields[SETTING_OF[name]].default


@dataclass(frozen=True, slots=True)
class CacheConfig:
    """Keys, TTLs, near-cache bounds, breaker, lease timing and fences of one manager.

    ``generation_ttl_ms``: the life of a list generation a write bumped (longer than any page
    under it). ``fence_retention_ms``: how long an item keeps the newest version invalidated
    (a day: DynamoDB streams keep records 24 h, so no late or retried record outlives it).
    ``fence_ttl_ms``: how long an invalidation of unknown version (and a namespace's bump) is
    trusted to cover, longer than DynamoDB's replica lag (documented only as "a short time";
    sub-second is observed). Longer is safer and costs this: item misses within it may take a
    second, strongly consistent read, and list pages loaded within it are not stored.
    """

    keys: KeySpace = field(default_factory=KeySpace)
    item_ttl_s: float = _default("item_ttl_s")
    list_ttl_s: float = _default("list_ttl_s")
    negative_ttl_s: float = _default("negative_ttl_s")
    ttl_jitter: float = 0.1
    lease_ttl_ms: int = 2000
    lease_wait_s: float = 0.25
    lease_poll_s: float = 0.002
    fence_ttl_ms: int = _default("fence_ttl_ms")
    fence_retention_ms: int = FENCE_RETENTION_MS
    generation_ttl_ms: int = GENERATION_TTL_MS
    near_ttl_s: float = _default("near_ttl_s")  # 0 turns the near cache off
    near_max_entries: int = _default("near_max_entries")
    near_max_bytes: int = _default("near_max_bytes")
    breaker_failure_threshold: int = _default("breaker_failure_threshold")
    breaker_cooldown_s: float = _default("breaker_cooldown_s")
    rng: Callable[[], float] = field(default=random.random, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> CacheConfig:
        return cls(keys=KeySpace(settings.cache_key_prefix, settings.cache_schema_version),
                   **{name: getattr(settings, setting) for name, setting in SETTING_OF.items()})

    def jittered_ms(self, ttl_s: float) -> int:
        """``ttl_s`` shortened by up to ``ttl_jitter`` so entries filled together expire apart."""
        return max(1, int(ttl_s * 1000 * (1 - self.ttl_jitter * self.rng())))


def build_manager(settings: Settings, metrics: MetricsSink, *, client: RedisClient | None = None,
                  logger: WarningLogger | None = None) -> RedisCacheManager:
    """A ``RedisCacheManager`` configured from ``settings`` (client created lazily, once)."""
    from courses_api.cache.manager import RedisCacheManager

    return RedisCacheManager(client if client is not None else partial(_connect, settings), metrics,
                             config=CacheConfig.from_settings(settings), logger=logger)


def _connect(settings: Settings) -> RedisClient:
    from courses_api.cache.client import get_redis_client  # redis-py loads here, on first use

    return get_redis_client(settings)


def build_cache(settings: Settings, metrics: MetricsSink) -> ReadThroughCache:
    """The cache for this container: ``NullCache`` when ``REDIS_URL`` is empty."""
    return build_manager(settings, metrics) if settings.cache_enabled else NullCache()
