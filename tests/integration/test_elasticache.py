"""The cache client on the ElastiCache stand-in: what it sends, what it may not, and faults.

The stand-in's cache user is made from ``template.yaml``'s ``AccessString`` (never from the
code), so these tests fail when the access string lacks a word the code needs, or when the
client sends something the access string does not allow. The key positions are checked
against the server's own ``COMMAND INFO``, not against the client's table.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr, TypeAdapter
from redis.cluster import RedisCluster

from courses_api.cache.api import CacheOutcome, ListNamespace
from courses_api.cache.client import KEY_POSITIONS, SCRIPT_COMMANDS, UnroutedCommandError
from courses_api.cache.config import CacheConfig
from courses_api.cache.entries import KeySpace
from courses_api.cache.manager import RedisCacheManager
from courses_api.cache.metrics import NullMetrics
from local.redis_server import ElastiCacheStandIn, cache_user_rules, start_elasticache_standin
from tests.support.clock import FakeClock
from tests.support.elasticache import (
    HARNESS_COMMANDS,
    TEST_KEY_PREFIX,
    audit,
    checkpoint,
    product_client,
)

pytestmark = pytest.mark.cluster


class Row(BaseModel):
    id: str
    version: int


ROW = TypeAdapter(Row)
ROWS = TypeAdapter(list[Row])


def _commands(standin: ElastiCacheStandIn) -> dict[str, int]:
    """Commands run on the whole stand-in since the last checkpoint (then reset); the audit's
    own (ACL LOG, CONFIG RESETSTAT on its open admin connections) left out."""
    return {name: count for name, count in checkpoint(standin).commands.items()
            if count and name not in HARNESS_COMMANDS}


def test_key_positions_are_the_servers(redis_server: ElastiCacheStandIn) -> None:
    """Each keyed command the client routes by table has the key positions the server reports
    (COMMAND INFO's first key, last key, step); EVAL/EVALSHA take numkeys at index 2 and the
    keys after it (their key specification: begin index 2, keynum index 0, first key 1)."""
    admin = redis_server.node_client(redis_server.nodes[0])
    info = admin.execute_command("COMMAND", "INFO", *KEY_POSITIONS, *SCRIPT_COMMANDS)
    for name, positions in KEY_POSITIONS.items():
        entry = info[name.lower()]
        assert (entry["first_key_pos"], entry["last_key_pos"], entry["step_count"]) == positions, name
        assert "movablekeys" not in entry["flags"], name
    for name in SCRIPT_COMMANDS:
        (spec,) = info[name.lower()]["key_specifications"]
        fields = dict(zip(spec[::2], spec[1::2], strict=True))
        begin = dict(zip(fields[b"begin_search"][::2], fields[b"begin_search"][1::2], strict=True))
        find = dict(zip(fields[b"find_keys"][::2], fields[b"find_keys"][1::2], strict=True))
        assert (begin[b"type"], begin[b"spec"]) == (b"index", [b"index", 2]), name
        assert (find[b"type"], find[b"spec"]) == (b"keynum", [b"keynumidx", 0, b"firstkey", 1, b"keystep", 1]), name


def test_a_new_client_sends_auth_cluster_slots_and_the_command_only(redis_server: ElastiCacheStandIn) -> None:
    checkpoint(redis_server)
    client = product_client(redis_server)
    try:
        assert client.get(f"{TEST_KEY_PREFIX}:probe") is None
        commands = _commands(redis_server)
    finally:
        client.close()
    # No COMMAND (key table), no HELLO (RESP2), no CLIENT SETINFO, no maintenance notifications
    assert set(commands) == {"auth", "cluster|slots", "get"}, commands
    assert commands["cluster|slots"] == 1
    assert commands["get"] == 1
    # One connection to discover the slots, one to the key's node (the same one a third of the
    # time): each is one TLS handshake and one AUTH
    assert 1 <= commands["auth"] <= 2, commands


def test_script_pipelines_route_by_numkeys_without_asking_the_server(redis_server: ElastiCacheStandIn) -> None:
    client = product_client(redis_server)
    try:
        client.get(f"{TEST_KEY_PREFIX}:warm")
        checkpoint(redis_server)
        pipe = client.pipeline(transaction=False)
        for tag in ("a", "b", "c", "d", "e", "f"):
            pipe.execute_command("EVAL", "return redis.call('GET', KEYS[1])", 1, f"{TEST_KEY_PREFIX}:{{{tag}}}")
        assert pipe.execute() == [None] * 6
        commands = _commands(redis_server)
    finally:
        client.close()
    assert "command|getkeys" not in commands, commands
    assert commands["eval"] == 6


def test_a_keyed_command_outside_the_table_is_refused_before_it_is_sent(redis_server: ElastiCacheStandIn) -> None:
    client = product_client(redis_server)
    try:
        with pytest.raises(UnroutedCommandError, match="HGET"):
            client.execute_command("HGET", f"{TEST_KEY_PREFIX}:h", "field")
    finally:
        client.close()


@pytest.fixture
def own_standin() -> Iterator[ElastiCacheStandIn]:
    """A stand-in of this test's own: for denials (which would fail the session audit) and faults."""
    standin = start_elasticache_standin((TEST_KEY_PREFIX,))
    yield standin
    standin.stop()


def test_the_stock_cluster_client_is_denied_and_the_audit_says_so(own_standin: ElastiCacheStandIn) -> None:
    """What the deployed cache did to the stock client: COMMAND is not in the access string."""
    from redis.exceptions import NoPermissionError, RedisClusterException

    with pytest.raises((NoPermissionError, RedisClusterException)):
        RedisCluster(host="127.0.0.1", port=own_standin.nodes[0].port, ssl=True,
                     ssl_ca_certs=own_standin.certificates.ca_file,
                     username=own_standin.username, password=own_standin.password)
    problems = audit(own_standin).problems()
    assert any("denied (command): command" in problem for problem in problems), problems


def test_a_key_outside_the_prefix_is_denied_and_audited(own_standin: ElastiCacheStandIn) -> None:
    from redis.exceptions import NoPermissionError

    client = product_client(own_standin)
    try:
        with pytest.raises(NoPermissionError):
            client.get("someone-else:v1:item:{x}")
    finally:
        client.close()
    problems = audit(own_standin).problems()
    assert any("denied (key): someone-else:v1:item:{x}" in problem for problem in problems), problems


def _manager(standin: ElastiCacheStandIn, clock: FakeClock) -> RedisCacheManager:
    config = CacheConfig(keys=KeySpace(TEST_KEY_PREFIX, 1), near_ttl_s=0, breaker_failure_threshold=1,
                         breaker_cooldown_s=5.0)
    return RedisCacheManager(product_client(standin, 50), NullMetrics(), config=config, clock=clock)


def _owner(standin: ElastiCacheStandIn, manager: RedisCacheManager, item_id: str) -> Any:
    client: Any = manager.redis._get_client()
    node = client.get_node_from_key(manager.keys.item(item_id).value)
    return standin.node_on_port(int(node.port))


def test_a_frozen_shard_is_a_bypass_then_served_again(own_standin: ElastiCacheStandIn) -> None:
    clock = FakeClock()
    manager = _manager(own_standin, clock)
    assert manager.fetch_item("c1", lambda: Row(id="c1", version=1), ROW).outcome is CacheOutcome.MISS
    node = _owner(own_standin, manager, "c1")
    node.freeze()
    try:
        frozen = manager.fetch_item("c1", lambda: Row(id="c1", version=1), ROW)
        assert (frozen.outcome, frozen.value) == (CacheOutcome.BYPASS, Row(id="c1", version=1))
    finally:
        node.thaw()
    clock.advance(6)  # past the breaker's cool-down
    assert manager.fetch_item("c1", lambda: None, ROW).outcome is CacheOutcome.HIT


def test_a_restarted_shard_is_used_again(own_standin: ElastiCacheStandIn) -> None:
    clock = FakeClock()
    manager = _manager(own_standin, clock)
    manager.fetch_item("c1", lambda: Row(id="c1", version=1), ROW)
    node = _owner(own_standin, manager, "c1")
    node.stop()
    assert manager.fetch_item("c1", lambda: Row(id="c1", version=1), ROW).outcome is CacheOutcome.BYPASS
    own_standin.restart(node)
    clock.advance(6)
    assert manager.fetch_item("c1", lambda: Row(id="c1", version=1), ROW).outcome is CacheOutcome.MISS, (
        "a restarted node comes back empty (nothing kept on disk)"
    )
    assert manager.fetch_item("c1", lambda: None, ROW).outcome is CacheOutcome.HIT


# ------------------------------------------------------------------ every word is needed


def _load_many(ids: Sequence[str], /, *, consistent: bool) -> dict[str, Row]:
    return {item_id: Row(id=item_id, version=1) for item_id in ids}


def _workload(standin: ElastiCacheStandIn) -> None:
    """Every kind of call the product makes, from a cold client on an empty cache (slot discovery,
    scripts not yet cached on the nodes): item and batch misses and hits, list pages, an
    invalidation, the health check."""
    standin.flush()
    for node in standin.live_nodes():
        standin.node_client(node).script_flush()
    config = CacheConfig(keys=KeySpace(TEST_KEY_PREFIX, 1), near_ttl_s=0, breaker_failure_threshold=1000)
    manager = RedisCacheManager(product_client(standin, 500), NullMetrics(), config=config)
    for _ in range(2):
        manager.fetch_item("c1", lambda: Row(id="c1", version=1), ROW)
        manager.fetch_item("gone", lambda: None, ROW)
        manager.fetch_items(["c1", "c2", "c3"], _load_many, ROW)
        manager.fetch_list(ListNamespace("category", "web"), "limit=20", lambda: [Row(id="c1", version=1)], ROWS)
    manager.invalidate(["c1", "c2"], [ListNamespace("category", "web")])
    for partition in ("web", "data", "data"):
        manager.fetch_list(ListNamespace("category", partition), "p2", lambda: [Row(id="c1", version=2)], ROWS)
    manager.health()


@pytest.fixture(scope="module")
def shared_standin() -> Iterator[ElastiCacheStandIn]:
    standin = start_elasticache_standin((TEST_KEY_PREFIX,))
    yield standin
    standin.stop()


def _grant(standin: ElastiCacheStandIn, rules: list[str]) -> None:
    for node in standin.live_nodes():
        standin.node_client(node).execute_command("ACL", "SETUSER", standin.username, "reset", *rules,
                                                  f">{standin.password}")


WORDS = [word for word in cache_user_rules([TEST_KEY_PREFIX]) if word != "-@all"]  # removing -@all grants more


def test_the_access_string_as_committed_lets_the_workload_through(shared_standin: ElastiCacheStandIn) -> None:
    _grant(shared_standin, shared_standin.rules)
    audit(shared_standin)
    _workload(shared_standin)
    found = audit(shared_standin)
    assert found.problems() == []
    assert {rule[1:] for rule in WORDS if rule.startswith("+")} <= found.commands.keys(), (
        "the workload exercises every command of the access string"
    )


@pytest.mark.parametrize("word", WORDS)
def test_without_any_one_word_of_the_access_string_the_cache_is_refused(
    shared_standin: ElastiCacheStandIn, word: str
) -> None:
    _grant(shared_standin, [rule for rule in shared_standin.rules if rule != word])
    audit(shared_standin)
    try:
        _workload(shared_standin)
    except Exception:  # a refused AUTH ("on" missing) may fail the client outright
        pass
    finally:
        found = audit(shared_standin)
        _grant(shared_standin, shared_standin.rules)
    assert found.denied, f"nothing was denied without {word!r}: the code does not need it"


# ------------------------------------------------------------------ saying what is wrong


class CountingMetrics:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self.counts[name] += int(value)


def _diagnosed(manager: RedisCacheManager) -> tuple[str, dict[str, Any]]:
    assert manager.fetch_item("c1", lambda: Row(id="c1", version=1), ROW).outcome is CacheOutcome.BYPASS
    status = manager.health()
    assert status.status == "degraded"
    return status.detail, dict(status.extra)


def test_a_refused_auth_is_reported_as_denied_with_redis_text(
    own_standin: ElastiCacheStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    metrics = CountingMetrics()
    config = CacheConfig(keys=KeySpace(TEST_KEY_PREFIX, 1), near_ttl_s=0, breaker_failure_threshold=1)
    def connect() -> Any:  # the cluster client connects (and AUTHs) when it is built
        return product_client(own_standin, 200, redis_password=SecretStr("not-the-token"))

    manager = RedisCacheManager(connect, metrics, config=config, logger=logging.getLogger("test.elasticache"))
    with caplog.at_level(logging.WARNING, logger="test.elasticache"):
        detail, extra = _diagnosed(manager)
    assert detail == "redis denied; circuit breaker open; reads bypass the cache"
    assert extra["cause"] == "denied"
    assert "WRONGPASS" in str(extra["redis_error"]) or "invalid username-password" in str(extra["redis_error"])
    assert (metrics.counts["BreakerOpen"], metrics.counts["BreakerOpenDenied"]) == (1, 1)
    (opened,) = [record for record in caplog.records if getattr(record, "breaker_to", "") == "open"]
    assert getattr(opened, "cause", "") == "denied"
    assert getattr(opened, "redis_error", "") == extra["redis_error"]


def test_a_missing_grant_is_reported_as_denied(own_standin: ElastiCacheStandIn) -> None:
    _grant(own_standin, [rule for rule in own_standin.rules if rule != "+get"])
    metrics = CountingMetrics()
    config = CacheConfig(keys=KeySpace(TEST_KEY_PREFIX, 1), near_ttl_s=0, breaker_failure_threshold=1)
    manager = RedisCacheManager(product_client(own_standin, 200), metrics, config=config)
    _, extra = _diagnosed(manager)
    assert extra["cause"] == "denied"
    assert "NOPERM" in str(extra["redis_error"]) or "no permissions" in str(extra["redis_error"])
    assert metrics.counts["BreakerOpenDenied"] == 1


@pytest.mark.parametrize(("fault", "cause"), [("freeze", "timed_out"), ("stop", "unreachable")])
def test_a_hung_or_gone_shard_is_reported_as_such(own_standin: ElastiCacheStandIn, fault: str, cause: str) -> None:
    metrics = CountingMetrics()
    config = CacheConfig(keys=KeySpace(TEST_KEY_PREFIX, 1), near_ttl_s=0, breaker_failure_threshold=1)
    manager = RedisCacheManager(product_client(own_standin, 50), metrics, config=config)
    manager.fetch_item("c1", lambda: Row(id="c1", version=1), ROW)
    node = _owner(own_standin, manager, "c1")
    getattr(node, fault)()
    try:
        detail, extra = _diagnosed(manager)
    finally:
        if fault == "freeze":
            node.thaw()
    assert extra["cause"] == cause, extra
    assert detail.startswith(f"redis {cause.replace('_', ' ')}; circuit breaker open")
    assert metrics.counts["BreakerOpen" + cause.title().replace("_", "")] == 1


# ------------------------------------------------------------------ the connect timeout


class SlowHandshakeProxy:
    """A TCP relay to one node that holds the server's first bytes (the TLS ServerHello) for
    ``delay_s``: a cold function's slow handshake, with every later byte on time."""

    def __init__(self, upstream_port: int, delay_s: float) -> None:
        self.upstream_port = upstream_port
        self.delay_s = delay_s
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self._threads: list[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            for source, sink, delay in ((client, upstream, 0.0), (upstream, client, self.delay_s)):
                thread = threading.Thread(target=self._pump, args=(source, sink, delay), daemon=True)
                thread.start()
                self._threads.append(thread)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, first_delay_s: float) -> None:
        delay = first_delay_s
        try:
            while chunk := source.recv(65536):
                if delay:
                    time.sleep(delay)
                    delay = 0.0
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.listener.close()


@pytest.mark.parametrize(("connect_timeout_ms", "connects"), [(1000, True), (100, False)])
def test_the_tls_handshake_is_bounded_by_the_connect_timeout_not_the_command_timeout(
    redis_server: ElastiCacheStandIn, connect_timeout_ms: int, connects: bool
) -> None:
    """A 300 ms handshake under a 50 ms command timeout: it completes within a 1000 ms connect
    timeout (and the commands after it keep their 50 ms), and fails within a 100 ms one."""
    from redis.exceptions import TimeoutError as RedisTimeoutError

    proxy = SlowHandshakeProxy(redis_server.nodes[0].port, delay_s=0.3)
    try:
        client = product_client(redis_server, 50, redis_cluster=False, redis_url=f"rediss://127.0.0.1:{proxy.port}",
                                redis_connect_timeout_ms=connect_timeout_ms)
        try:
            if connects:
                assert client.ping() is True
                connection = client.connection_pool.get_connection()
                try:
                    assert connection._sock is not None
                    assert connection._sock.gettimeout() == pytest.approx(0.05), "commands keep their own timeout"
                finally:
                    client.connection_pool.release(connection)
            else:
                with pytest.raises(RedisTimeoutError):
                    client.ping()
        finally:
            client.close()
    finally:
        proxy.close()
