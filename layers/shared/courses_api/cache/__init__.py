"""Two-tier cache (in-process near cache in front of Redis).

Services depend only on :mod:`courses_api.cache.api`; containers call :func:`build_cache`.
The names below are loaded on first access, so importing one submodule does not import
redis-py (about 40 ms of a cold start) for a container that has no Redis tier.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
        PageReads,
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

_EXPORTS = {
    "FENCE_GONE": "api",
    "FENCE_UNKNOWN": "api",
    "BatchLoader": "api",
    "CacheConfig": "config",
    "Clock": "config",
    "Fenced": "api",
    "SystemClock": "config",
    "version_fence": "api",
    "BreakerState": "breaker",
    "CacheConfigurationError": "client",
    "CacheOutcome": "api",
    "Cached": "api",
    "CircuitBreaker": "breaker",
    "DependencyStatus": "api",
    "ElastiCacheIAMProvider": "client",
    "KeySpace": "keys",
    "ListNamespace": "api",
    "MetricsSink": "metrics",
    "NearCache": "near",
    "NullCache": "api",
    "NullMetrics": "metrics",
    "PageReads": "api",
    "ReadThroughCache": "api",
    "RedisCacheManager": "manager",
    "build_cache": "factory",
    "build_manager": "factory",
    "create_redis_client": "client",
    "get_redis_client": "client",
}

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
    "PageReads",
    "ReadThroughCache",
    "RedisCacheManager",
    "SystemClock",
    "build_cache",
    "build_manager",
    "create_redis_client",
    "get_redis_client",
    "version_fence",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
