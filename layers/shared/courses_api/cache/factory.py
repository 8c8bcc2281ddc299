"""Build the container's cache from settings: Redis-backed, or ``NullCache`` without Redis.

The Redis-backed parts are imported only when a Redis tier is configured, and redis-py
itself only when the manager creates its client (on first use: ``RedisCluster`` connects
in its constructor), so building the cache costs no redis-py import.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from courses_api.cache.api import NullCache, ReadThroughCache
from courses_api.cache.metrics import MetricsSink
from courses_api.settings import Settings

if TYPE_CHECKING:
    from courses_api.cache.client import RedisClient
    from courses_api.cache.manager import RedisCacheManager, WarningLogger


def build_manager(
    settings: Settings,
    metrics: MetricsSink,
    *,
    client: RedisClient | None = None,
    logger: WarningLogger | None = None,
) -> RedisCacheManager:
    """A ``RedisCacheManager`` configured from ``settings`` (client created lazily, once)."""
    from courses_api.cache.breaker import CircuitBreaker
    from courses_api.cache.keys import KeySpace
    from courses_api.cache.manager import RedisCacheManager
    from courses_api.cache.near import NearCache

    return RedisCacheManager(
        client if client is not None else partial(connect, settings),
        metrics,
        keys=KeySpace(settings.cache_key_prefix, settings.cache_schema_version),
        item_ttl_s=settings.cache_item_ttl_s,
        list_ttl_s=settings.cache_list_ttl_s,
        negative_ttl_s=settings.cache_negative_ttl_s,
        near=NearCache(
            ttl_s=settings.near_cache_ttl_s,
            max_entries=settings.near_cache_max_entries,
            max_bytes=settings.near_cache_max_bytes,
        ),
        breaker=CircuitBreaker(settings.breaker_failure_threshold, settings.breaker_cooldown_s),
        logger=logger,
    )


def connect(settings: Settings) -> RedisClient:
    """The container's Redis client (created once per settings); imports redis-py on first call."""
    from courses_api.cache.client import get_redis_client

    return get_redis_client(settings)


def build_cache(settings: Settings, metrics: MetricsSink) -> ReadThroughCache:
    """The cache for this container: ``NullCache`` when ``REDIS_URL`` is empty."""
    if not settings.cache_enabled:
        return NullCache()
    return build_manager(settings, metrics)
