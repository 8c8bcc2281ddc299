"""Cache fixtures: managers on the session's ElastiCache stand-in (a three-shard TLS cluster,
through the product's own client), dedicated plain servers to stop or freeze. All real
``redis-server`` processes, no fakes."""

from __future__ import annotations

import itertools
import os
import signal
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from pydantic import BaseModel, TypeAdapter
from redis.cluster import RedisCluster

from courses_api.cache.config import CacheConfig
from courses_api.cache.entries import KeySpace
from courses_api.cache.manager import RedisCacheManager
from local.redis_server import ElastiCacheStandIn
from tests.support.elasticache import TEST_KEY_PREFIX, product_client
from tests.support.services import LocalRedis, start_redis_server


class Thing(BaseModel):
    """A small model standing in for a course row."""

    id: str
    version: int
    title: str = "t"


THING = TypeAdapter(Thing)
THINGS = TypeAdapter(list[Thing])


class RecordingMetrics:
    """Counts metrics by name (the manager accepts anything with ``add_metric``)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._changed = threading.Condition()

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        with self._changed:
            self.counts[name] += int(value)
            self._changed.notify_all()

    def wait_for(self, name: str, count: int) -> bool:
        """Block until ``name`` reaches ``count``; woken by each metric, never polled. The 30 s
        only ends a run that would otherwise hang."""
        with self._changed:
            return self._changed.wait_for(lambda: self.counts[name] >= count, timeout=30)


class CountingLoader:
    """A loader (the DynamoDB read) that counts its calls and returns the current row.

    ``until_waiting``: the read lasts until that many other readers wait for its lease (the
    readers' own progress, not a duration), as a slow read under a stampede would.
    """

    def __init__(self, value: Any = None, *, until_waiting: tuple[RecordingMetrics, int] | None = None) -> None:
        self.value = value
        self.until_waiting = until_waiting
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        with self._lock:
            self.calls += 1
        if self.until_waiting is not None:
            metrics, waiters = self.until_waiting
            metrics.wait_for("CacheLeaseWait", waiters)
        return self.value


ManagerFactory = Callable[..., RedisCacheManager]


def advance_redis(client: redis.Redis, seconds: float) -> None:
    """Age every key with a TTL by ``seconds``, as if that much time had passed on the server:
    keys due by then are deleted, the others' TTLs shortened. Redis has no clock to drive, so
    this stands in for waiting (tests never sleep)."""
    step_ms = int(seconds * 1000)
    for key in client.scan_iter(count=1000):
        remaining = int(client.pttl(key))
        if remaining < 0:
            continue
        if remaining <= step_ms:
            client.delete(key)
        else:
            client.pexpire(key, remaining - step_ms)


_prefixes = itertools.count(1)


def key_space(schema: int | None = None) -> KeySpace:
    """Keys under the prefix the stand-in's cache user may reach; the schema version keeps
    the key spaces of one test's managers apart (or together, given the same number)."""
    return KeySpace(TEST_KEY_PREFIX, schema if schema is not None else 1000 + next(_prefixes))


CONFIG_FIELDS = frozenset(CacheConfig.__dataclass_fields__)


def make_manager(client: Any, metrics: RecordingMetrics, **overrides: Any) -> RedisCacheManager:
    """A manager with test-sized bounds (give managers of one test the same ``keys``).

    ``CacheConfig`` fields (``keys``, ``item_ttl_s``, ``near_ttl_s``, ``lease_wait_s``,
    ``rng``...) may be given as keyword arguments, and ``failure_threshold`` and
    ``cooldown_s`` for the breaker's.
    """
    fields: dict[str, Any] = {
        "keys": key_space(),
        "near_max_entries": 128,
        "near_max_bytes": 1 << 20,
        "breaker_failure_threshold": overrides.pop("failure_threshold", 3),
        "breaker_cooldown_s": overrides.pop("cooldown_s", 5.0),
    }
    fields.update({name: overrides.pop(name) for name in list(overrides) if name in CONFIG_FIELDS})
    return RedisCacheManager(client, metrics, config=CacheConfig(**fields), **overrides)


def fast_client(url: str, timeout_ms: int = 50) -> redis.Redis:
    """A client with the production timeouts and no retries (as ``client_options`` builds)."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        url,
        socket_connect_timeout=timeout_ms / 1000,
        socket_timeout=timeout_ms / 1000,
        retry=Retry(NoBackoff(), 0),
    )


@pytest.fixture
def metrics() -> RecordingMetrics:
    return RecordingMetrics()


@pytest.fixture
def manager_factory(
    redis_server: ElastiCacheStandIn, redis_client: Any, metrics: RecordingMetrics
) -> Iterator[ManagerFactory]:
    """Build managers on the stand-in (flushed per test by ``redis_client``), each with a
    client built as a function builds it."""
    clients: list[Any] = []
    keys = key_space()  # one per test: its managers share keys

    def build(**overrides: Any) -> RedisCacheManager:
        client = product_client(redis_server, overrides.pop("timeout_ms", 200))
        clients.append(client)
        overrides.setdefault("keys", keys)
        return make_manager(client, overrides.pop("metrics", metrics), **overrides)

    yield build
    for client in clients:
        client.close()


@pytest.fixture
def manager(manager_factory: ManagerFactory) -> RedisCacheManager:
    return manager_factory()


@pytest.fixture
def dedicated_redis() -> Iterator[LocalRedis]:
    """A redis-server of this test's own, safe to stop or SIGSTOP (never the shared one)."""
    server = start_redis_server()
    yield server
    if server.process is not None:
        os.kill(server.process.pid, signal.SIGCONT)
        server.stop()


@pytest.fixture(scope="session")
def redis_cluster_nodes(redis_server: ElastiCacheStandIn) -> list[LocalRedis]:
    """The stand-in's three shards (ElastiCache Serverless is cluster-mode only)."""
    return redis_server.nodes


@pytest.fixture
def cluster_client(redis_server: ElastiCacheStandIn, redis_client: Any) -> Iterator[RedisCluster]:
    """The product's cluster client on the (flushed) stand-in."""
    client = product_client(redis_server, 500)
    yield client
    client.close()
