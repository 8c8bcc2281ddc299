"""Two-tier cache (in-process near cache in front of Redis).

Services depend only on :mod:`courses_api.cache.api`; containers call :func:`build_cache`.
"""

from courses_api.cache.api import (
    FENCE_GONE,
    FENCE_UNKNOWN,
    BatchLoader,
    Cached,
    CacheOutcome,
    DependencyStatus,
    Fenced,
    ListNamespace,
    NullCache,
    ReadThroughCache,
    version_fence,
)
from courses_api.cache.breaker import BreakerState, CircuitBreaker
from courses_api.cache.client import (
    CacheConfigurationError,
    ElastiCacheIAMProvider,
    create_redis_client,
    get_redis_client,
)
from courses_api.cache.config import CacheConfig, Clock, SystemClock
from courses_api.cache.factory import build_cache, build_manager
from courses_api.cache.keys import KeySpace
from courses_api.cache.manager import RedisCacheManager
from courses_api.cache.metrics import MetricsSink, NullMetrics
from courses_api.cache.near import NearCache

__all__ = [
    "FENCE_GONE",
    "FENCE_UNKNOWN",
    "BatchLoader",
    "BreakerState",
    "CacheConfig",
    "CacheConfigurationError",
    "CacheOutcome",
    "Cached",
    "CircuitBreaker",
    "Clock",
    "DependencyStatus",
    "ElastiCacheIAMProvider",
    "Fenced",
    "KeySpace",
    "ListNamespace",
    "MetricsSink",
    "NearCache",
    "NullCache",
    "NullMetrics",
    "ReadThroughCache",
    "RedisCacheManager",
    "SystemClock",
    "build_cache",
    "build_manager",
    "create_redis_client",
    "get_redis_client",
    "version_fence",
]
