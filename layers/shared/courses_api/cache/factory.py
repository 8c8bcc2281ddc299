"""Build the container's cache from settings: Redis-backed, or ``NullCache`` without Redis."""

from __future__ import annotations

from functools import partial

from courses_api.cache.api import NullCache, ReadThroughCache
from courses_api.cache.client import RedisClient, get_redis_client
from courses_api.cache.config import CacheConfig
from courses_api.cache.link import WarningLogger
from courses_api.cache.manager import RedisCacheManager
from courses_api.cache.metrics import MetricsSink
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
        config=CacheConfig.from_settings(settings),
        logger=logger,
    )

def build_cache(settings: Settings, metrics: MetricsSink) -> ReadThroughCache:
    """The cache for this container: ``NullCache`` when ``REDIS_URL`` is empty."""
    if not settings.cache_enabled:
        return NullCache()
    return build_manager(settings, metrics)
