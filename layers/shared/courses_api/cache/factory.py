"""Build the container's cache from settings: Redis-backed, or ``NullCache`` without Redis."""

from __future__ import annotations

from functools import partial

from courses_api.cache.api import NullCache, ReadThroughCache
from courses_api.cache.breaker import CircuitBreaker
from courses_api.cache.client import RedisClient, get_redis_client
from courses_api.cache.config import CacheConfig
from courses_api.cache.keys import KeySpace
from courses_api.cache.link import WarningLogger
from courses_api.cache.manager import RedisCacheManager
from courses_api.cache.metrics import MetricsSink
from courses_api.cache.near import NearCache
from courses_api.settings import Settings


def build_manager(
    settings: Settings,
    metrics: MetricsSink,
    *,
    client: RedisClient | None = None,
    logger: WarningLogger | None = None,
) -> RedisCacheManager:
    """A ``RedisCacheManager`` configured from ``settings`` (client created lazily, once)."""
    return RedisCacheManager(
        client if client is not None else partial(get_redis_client, settings),
        metrics,
        keys=KeySpace(settings.cache_key_prefix, settings.cache_schema_version),
        config=CacheConfig.from_settings(settings),
        near=NearCache(
            ttl_s=settings.near_cache_ttl_s,
            max_entries=settings.near_cache_max_entries,
            max_bytes=settings.near_cache_max_bytes,
        ),
        breaker=CircuitBreaker(settings.breaker_failure_threshold, settings.breaker_cooldown_s),
        logger=logger,
    )


def build_cache(settings: Settings, metrics: MetricsSink) -> ReadThroughCache:
    """The cache for this container: ``NullCache`` when ``REDIS_URL`` is empty."""
    if not settings.cache_enabled:
        return NullCache()
    return build_manager(settings, metrics)
