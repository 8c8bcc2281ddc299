"""The ElastiCache stand-in as the tests use it, and the audit of what it was sent.

One stand-in per session (``local.redis_server.start_elasticache_standin``: TLS cluster,
``default`` off, the cache user from ``template.yaml``'s access string). The functions get
its settings through the environment; a test gets the product's own client
(:func:`product_client`) or the harness's admin client.

At the end of the session :func:`audit` reads every node's ``ACL LOG`` (each denied
command, key or AUTH) and ``INFO commandstats`` (each command run), and the session fails
on any denial and on any command ElastiCache Serverless does not support.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from local.redis_server import ElastiCacheStandIn, start_elasticache_standin

# Key prefixes the cache user may reach: the in-process tests' and the e2e server's.
TEST_KEY_PREFIX = "courses-test"
E2E_KEY_PREFIX = "courses-e2e"

# ElastiCache Serverless's supported Valkey and Redis OSS commands, as the documentation lists
# them, in the categories a cache client can use (bitmap, cluster management, connection,
# generic, scripting, string; the data-structure and module families are left out: nothing
# here would use them, so the list stays readable). Subcommands as INFO commandstats names
# them ("cluster|slots").
# Source: https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/SupportedCommands.html
# (read 2026-12-03).
SUPPORTED_COMMANDS_URL = "https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/SupportedCommands.html"
SUPPORTED_COMMANDS = frozenset({
    # Bitmap
    "bitcount", "bitfield", "bitfield_ro", "bitop", "bitpos", "getbit", "setbit",
    # Cluster management
    "cluster|countkeysinslot", "cluster|getkeysinslot", "cluster|info", "cluster|keyslot", "cluster|myid",
    "cluster|nodes", "cluster|replicas", "cluster|shards", "cluster|slots", "readonly", "readwrite",
    # Connection management
    "auth", "client|getname", "client|reply", "client|setname", "echo", "hello", "ping", "quit", "reset",
    # Generic
    "copy", "del", "dump", "exists", "expire", "expireat", "expiretime", "persist", "pexpire", "pexpireat",
    "pexpiretime", "pttl", "randomkey", "rename", "renamenx", "restore", "scan", "sort", "sort_ro", "touch",
    "ttl", "type", "unlink",
    # Scripting
    "eval", "eval_ro", "evalsha", "evalsha_ro", "fcall", "fcall_ro", "script|exists", "script|flush",
    "script|load",
    # String
    "append", "decr", "decrby", "get", "getdel", "getex", "getrange", "getset", "incr", "incrby",
    "incrbyfloat", "lcs", "mget", "mset", "msetnx", "psetex", "set", "setex", "setnx", "setrange", "strlen",
    "substr",
})

# What only the harness's admin user sends (start-up, flushes, inspection, this audit). None
# of it is in the cache user's access string (checked in ``audit``), so leaving it out of the
# tally cannot hide a product command: one the product sends outside its access string is
# denied, and the denial is in ACL LOG.
HARNESS_COMMANDS = frozenset({
    "acl|list", "acl|log", "client|list", "cluster|addslotsrange", "cluster|info", "cluster|meet",
    "cluster|nodes", "command", "command|info", "command|docs", "config|get", "config|resetstat", "dbsize",
    "flushall", "flushdb", "info", "keys", "scan", "type", "ttl", "memory|usage", "debug", "script|flush",
})


def start_session_standin() -> ElastiCacheStandIn:
    """The session's stand-in: the cache user may reach the test and e2e prefixes."""
    return start_elasticache_standin((TEST_KEY_PREFIX, E2E_KEY_PREFIX))


def standin_settings(standin: ElastiCacheStandIn, **overrides: Any) -> Any:
    """``Settings`` of a function talking to ``standin`` (timeouts etc. as ``overrides``)."""
    from courses_api.settings import Settings

    values: dict[str, Any] = {name.lower(): value for name, value in standin.environment().items()}
    values.update(courses_table="courses", enrollments_table="enrollments", cache_key_prefix=TEST_KEY_PREFIX,
                  cursor_secret=SecretStr(secrets.token_urlsafe(32)))
    values.update(overrides)
    return Settings(**values)


def product_client(standin: ElastiCacheStandIn, timeout_ms: int = 200, **overrides: Any) -> Any:
    """A new client built exactly as a function builds it (``create_redis_client``)."""
    from courses_api.cache.client import create_redis_client

    return create_redis_client(standin_settings(standin, redis_socket_timeout_ms=timeout_ms, **overrides))


@dataclass
class Audit:
    """What the stand-in's nodes recorded: denials (ACL LOG) and commands run (commandstats)."""

    denied: list[dict[str, Any]] = field(default_factory=list)
    commands: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)

    @property
    def product_commands(self) -> set[str]:
        return {name for name, calls in self.commands.items() if calls} - HARNESS_COMMANDS

    @property
    def unsupported(self) -> set[str]:
        return self.product_commands - SUPPORTED_COMMANDS

    def merge(self, other: Audit) -> None:
        self.denied += other.denied
        self.commands.update(other.commands)
        self.rejected.update(other.rejected)

    def problems(self) -> list[str]:
        found = [f"denied ({entry.get('reason')}): {entry.get('object')} by {entry.get('username')} "
                 f"x{entry.get('count')} ({entry.get('context')})" for entry in self.denied]
        found += [f"not supported by ElastiCache Serverless ({SUPPORTED_COMMANDS_URL}): {name} "
                  f"x{self.commands[name]}" for name in sorted(self.unsupported)]
        return found

    def summary(self) -> str:
        seen = ", ".join(f"{name} {self.commands[name]}" for name in sorted(self.product_commands))
        return f"commands the cache user could send, as run: {seen or 'none'}"


def _command_name(stat: str) -> str:
    return stat.removeprefix("cmdstat_").lower()


def audit(standin: ElastiCacheStandIn) -> Audit:
    """Read ACL LOG and INFO commandstats of every live node (then reset both)."""
    overlap = {rule[1:].lower() for rule in standin.rules if rule.startswith("+")} & HARNESS_COMMANDS
    assert not overlap, f"harness-only commands are in the cache user's access string: {overlap}"
    result = Audit()
    for node in standin.live_nodes():
        client = standin.node_client(node)
        for entry in client.acl_log(count=1024):
            result.denied.append({key: (value.decode() if isinstance(value, bytes) else value)
                                  for key, value in entry.items()})
        for stat, values in client.info("commandstats").items():
            name = _command_name(stat)
            result.commands[name] += int(values.get("calls", 0))
            result.rejected[name] += int(values.get("rejected_calls", 0))
        client.acl_log_reset()
        client.config_resetstat()
    return result


SESSION_AUDIT = Audit()  # what the session's stand-in was sent, over the whole run


def checkpoint(standin: ElastiCacheStandIn) -> Audit:
    """Fold what the stand-in recorded so far into the session's audit and start counting afresh
    (before a test counts commands, or restarts a node, which loses its statistics)."""
    found = audit(standin)
    SESSION_AUDIT.merge(found)
    return found
