"""Two-tier cache (in-process near cache in front of Redis).

Services depend only on :mod:`courses_api.cache.api`; containers call :func:`build_cache`.
"""

from courses_api.cache.api import (
    BatchLoader,
    Cached,
    CacheOutcome,
    DependencyStatus,
    ListNamespace,
    NullCache,
    ReadThroughCache,
)
from courses_api.cache.breaker import BreakerState, CircuitBreaker
from courses_api.cache.client import (
    CacheConfigurationError,
    ElastiCacheIAMProvider,
    create_redis_client,
    get_redis_client,
)
from courses_api.cache.factory import build_cache, build_manager
from courses_api.cache.keys import KeySpace
from courses_api.cache.manager import RedisCacheManager
from courses_api.cache.metrics import MetricsSink, NullMetrics
from courses_api.cache.near import NearCache

__all__ = [
    "BatchLoader",
    "BreakerState",
    "CacheConfigurationError",
    "CacheOutcome",
    "Cached",
    "CircuitBreaker",
    "DependencyStatus",
    "ElastiCacheIAMProvider",
    "KeySpace",
    "ListNamespace",
    "MetricsSink",
    "NearCache",
    "NullCache",
    "NullMetrics",
    "ReadThroughCache",
    "RedisCacheManager",
    "build_cache",
    "build_manager",
    "create_redis_client",
    "get_redis_client",
]
