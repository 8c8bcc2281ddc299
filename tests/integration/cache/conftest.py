"""Cache fixtures: managers on the shared test Redis, dedicated servers to stop or freeze,
and a three-node Redis Cluster. All real ``redis-server`` processes, no fakes."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from pydantic import BaseModel, TypeAdapter
from redis.cluster import RedisCluster

from courses_api.cache import CacheConfig, KeySpace, RedisCacheManager
from tests.support.services import LocalRedis, free_port, start_redis_server


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
        self._lock = threading.Lock()

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        with self._lock:
            self.counts[name] += int(value)


class CountingLoader:
    """A loader (the DynamoDB read) that counts its calls and returns the current row."""

    def __init__(self, value: Any = None, delay_s: float = 0.0) -> None:
        self.value = value
        self.delay_s = delay_s
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        with self._lock:
            self.calls += 1
        if self.delay_s:
            time.sleep(self.delay_s)
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


_prefixes = itertools.count()


CONFIG_FIELDS = frozenset(CacheConfig.__dataclass_fields__)


def make_manager(client: Any, metrics: RecordingMetrics, **overrides: Any) -> RedisCacheManager:
    """A manager with test-sized bounds (give managers of one test the same ``keys``).

    ``CacheConfig`` fields (``keys``, ``item_ttl_s``, ``near_ttl_s``, ``lease_wait_s``,
    ``rng``...) may be given as keyword arguments, and ``failure_threshold`` and
    ``cooldown_s`` for the breaker's.
    """
    fields: dict[str, Any] = {
        "keys": KeySpace(f"ct{os.getpid()}-{next(_prefixes)}", 1),
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
def manager_factory(redis_url: str, redis_client: redis.Redis, metrics: RecordingMetrics) -> Iterator[ManagerFactory]:
    """Build managers on the shared test Redis (db flushed per test by ``redis_client``)."""
    clients: list[redis.Redis] = []
    keys = KeySpace(f"ct{os.getpid()}-{next(_prefixes)}", 1)  # one per test: its managers share keys

    def build(**overrides: Any) -> RedisCacheManager:
        client = fast_client(redis_url, overrides.pop("timeout_ms", 200))
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


def _free_cluster_port() -> int:
    """A free port whose cluster-bus port (+10000) is free too."""
    for _ in range(100):
        port = free_port()
        if port < 55535:
            try:
                import socket

                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", port + 10000))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port pair for a cluster node")


def _cluster_state(client: redis.Redis) -> str:
    info = client.execute_command("CLUSTER INFO")
    if isinstance(info, dict):
        state = info.get("cluster_state", info.get(b"cluster_state", ""))
        return state.decode() if isinstance(state, bytes) else str(state)
    text = info.decode() if isinstance(info, bytes) else str(info)
    return "ok" if "cluster_state:ok" in text else "fail"


@pytest.fixture(scope="session")
def redis_cluster_nodes() -> Iterator[list[LocalRedis]]:
    """Three cluster-enabled redis-servers joined into one cluster (no replicas)."""
    if shutil.which("redis-cli") is None:
        pytest.skip("redis-cli is not installed")
    nodes: list[LocalRedis] = []
    try:
        for _ in range(3):
            nodes.append(
                start_redis_server(_free_cluster_port(), "--cluster-enabled", "yes", "--cluster-node-timeout", "2000")
            )
        addresses = [f"127.0.0.1:{node.port}" for node in nodes]
        subprocess.run(
            ["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        # Every node must see the whole slot map, not just the first: a node that has not
        # heard of the others yet answers CLUSTERDOWN and the first test turns into BYPASSes.
        probes = [redis.Redis(port=node.port) for node in nodes]
        deadline = time.monotonic() + 30
        while any(_cluster_state(probe) != "ok" for probe in probes):
            if time.monotonic() > deadline:
                raise RuntimeError("cluster did not reach state ok on every node")
            time.sleep(0.1)
        for probe in probes:
            probe.close()
        yield nodes
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture
def cluster_client(redis_cluster_nodes: list[LocalRedis]) -> Iterator[RedisCluster]:
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = RedisCluster(
        host="127.0.0.1",
        port=redis_cluster_nodes[0].port,
        socket_timeout=0.5,
        socket_connect_timeout=0.5,
        retry=Retry(NoBackoff(), 0),
    )
    client.flushall(target_nodes=RedisCluster.PRIMARIES)
    yield client
    client.close()
