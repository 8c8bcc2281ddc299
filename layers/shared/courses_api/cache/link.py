"""The manager's line to Redis: a lazily built client behind the circuit breaker.

Every Redis operation of the cache goes through :meth:`RedisLink.call`; any Redis failure
(timeout, refused connection, cluster error) or an open breaker becomes :class:`Bypassed`,
which the manager turns into a read from the loader. Nothing here raises because of Redis.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from courses_api.cache.breaker import BreakerState, CircuitBreaker
from courses_api.cache.metrics import BREAKER_OPEN, CACHE_ERROR, COUNT, MetricsSink

if TYPE_CHECKING:
    from courses_api.cache.client import RedisClient

T = TypeVar("T")


@cache
def redis_errors() -> tuple[type[BaseException], ...]:
    """What a failed Redis call raises. redis-py loads with the client, not with this module."""
    from redis.exceptions import RedisClusterException, RedisError

    return (RedisError, RedisClusterException, OSError)


class WarningLogger(Protocol):
    """What the cache needs from a logger (stdlib or Powertools)."""

    def warning(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None: ...


def default_logger() -> WarningLogger:
    try:
        from aws_lambda_powertools import Logger

        return Logger(child=True)
    except ImportError:  # pragma: no cover - powertools is a layer dependency
        return logging.getLogger(__name__)


class Bypassed(Exception):
    """Redis was skipped (breaker open) or failed; the caller serves from the loader."""


@dataclass(frozen=True, slots=True)
class Script:
    """A Lua script and its SHA1 (for EVALSHA)."""

    source: str
    sha: str

    @classmethod
    def of(cls, source: str) -> Script:
        return cls(source, hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest())


@dataclass(frozen=True, slots=True)
class ScriptCall:
    """One script over one set of keys (all with one hash tag) and its arguments."""

    script: Script
    keys: list[str]
    args: list[Any]


class RedisLink:
    """The client (created on first use, under the breaker), the breaker, and error counting."""

    def __init__(
        self,
        client: RedisClient | Callable[[], RedisClient],
        breaker: CircuitBreaker,
        metrics: MetricsSink,
        logger: WarningLogger,
    ) -> None:
        """``client`` may be a factory: ``RedisCluster`` connects in its constructor, and
        Redis may be down then."""
        if callable(client) and not hasattr(client, "evalsha"):
            self._client: RedisClient | None = None
            self._factory: Callable[[], RedisClient] | None = client
        else:
            self._client = cast("RedisClient", client)
            self._factory = None
        self._lock = threading.Lock()
        self.breaker = breaker
        self.metrics = metrics
        self.logger = logger
        self.last_failure: tuple[str, str] | None = None  # (cause, Redis's error text) of the last failure
        breaker.on_change = self._on_breaker_change

    def call(self, operation: Callable[[RedisClient], T]) -> T:
        """Run ``operation`` through the breaker; any Redis failure becomes ``Bypassed``."""
        if not self.breaker.allow():
            raise Bypassed
        try:
            result = operation(self._get_client())
        except redis_errors() as exc:
            from courses_api.cache.client import failure_cause  # redis-py is loaded by now

            self.last_failure = failure_cause(exc)
            self.breaker.record_failure(f"{self.last_failure[0]}: {self.last_failure[1]}")
            self.count_error(f"redis call failed: {type(exc).__name__}: {exc}", log=False)
            raise Bypassed from exc
        self.breaker.record_success()
        return result

    def run(self, call: ScriptCall) -> Any:
        """One script call (EVALSHA, falling back to EVAL once per node)."""
        return self.call(lambda client: evaluate(client, call))

    def run_many(self, calls: Sequence[ScriptCall]) -> list[Any]:
        """Many script calls in one round trip."""
        return self.call(lambda client: evaluate_many(client, calls))

    def count_error(self, message: str, *, log: bool = True) -> None:
        self.metrics.add_metric(CACHE_ERROR, COUNT, 1)
        if log:
            self.logger.warning(message)

    def _get_client(self) -> RedisClient:
        if self._client is not None:
            return self._client
        with self._lock:
            if self._client is None:
                assert self._factory is not None
                self._client = self._factory()
            return self._client

    def _on_breaker_change(self, old: BreakerState, new: BreakerState, reason: str) -> None:
        cause, error = self.last_failure or ("", "")
        if new is BreakerState.OPEN:
            self.metrics.add_metric(BREAKER_OPEN, COUNT, 1)
            # one metric per cause: BreakerOpenDenied, BreakerOpenTimedOut, BreakerOpenUnreachable
            self.metrics.add_metric(BREAKER_OPEN + cause.title().replace("_", ""), COUNT, 1)
        self.logger.warning(
            "cache circuit breaker state changed",
            extra={
                "breaker_from": str(old),
                "breaker_to": str(new),
                "reason": reason[:200],
                "cooldown_s": self.breaker.cooldown_s,
                **({"cause": cause, "redis_error": error} if new is BreakerState.OPEN else {}),
            },
        )


def evaluate(client: RedisClient, call: ScriptCall) -> Any:
    from redis.exceptions import NoScriptError  # loaded with the client already

    try:
        return client.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)
    except NoScriptError:
        # EVAL routes by key like EVALSHA and caches the script on that node.
        return client.eval(call.script.source, len(call.keys), *call.keys, *call.args)


def evaluate_many(client: RedisClient, calls: Sequence[ScriptCall]) -> list[Any]:
    """Script calls in one non-transactional pipeline.

    EVAL, not EVALSHA: redis-py refuses EVALSHA in a cluster pipeline, and a NOSCRIPT
    reply in the middle of a pipeline would need a second round trip; the scripts are a
    few hundred bytes, and Redis compiles each body once and caches it. Sent with
    ``execute_command`` because ``ClusterPipeline.eval`` is not the EVAL command; the
    cluster client routes EVAL by its keys (one hash tag per call).
    """
    pipe = client.pipeline(transaction=False)
    for call in calls:
        pipe.execute_command("EVAL", call.script.source, len(call.keys), *call.keys, *call.args)
    return list(pipe.execute())


def get_many(client: RedisClient, keys: Sequence[str]) -> list[bytes | None]:
    """Plain GETs of many keys in one round trip (each key may be in its own slot)."""
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.get(key)
    return cast("list[bytes | None]", pipe.execute())
