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
    from courses_api.cache.guard import WarningLogger
    from courses_api.cache.manager import RedisCacheManager


def build_manager(settings: Settings, metrics: MetricsSink, *, client: RedisClient | None = None,
                  logger: WarningLogger | None = None) -> RedisCacheManager:
    """A ``RedisCacheManager`` configured from ``settings`` (client created lazily, once)."""
    from courses_api.cache.config import CacheConfig
    from courses_api.cache.manager import RedisCacheManager

    return RedisCacheManager(client if client is not None else partial(connect, settings), metrics,
                             config=CacheConfig.from_settings(settings), logger=logger)


def connect(settings: Settings) -> RedisClient:
    """The container's Redis client (created once per settings); imports redis-py on first call."""
    from courses_api.cache.client import get_redis_client

    return get_redis_client(settings)


def build_cache(settings: Settings, metrics: MetricsSink) -> ReadThroughCache:
    """The cache for this container: ``NullCache`` when ``REDIS_URL`` is empty."""
    return build_manager(settings, metrics) if settings.cache_enabled else NullCache()
