"""Redis behind a circuit breaker: every call returns, or raises :class:`Bypassed`.

Any Redis failure (timeout, refused connection, cluster error) or an open breaker becomes
``Bypassed``, which the manager turns into a read from the loader: nothing here raises
because of Redis. The breaker earns its place in the outage figure: with Redis frozen a read
cost +0.02 ms at p99 over no Redis at all in the benchmark run of 2026-12-02, where each read
would otherwise wait out a socket timeout (50 ms) (``docs/BENCHMARKS.md``, cache mechanics).
redis-py's ``Retry`` only repeats a failed command, and its one breaker (``redis.multidb``,
on pybreaker) fails over between databases: there is only one here.

Scripts run with EVALSHA, and EVAL once on a node that does not know them (EVAL caches the
script there). redis-py's ``register_script`` would load a missing script with SCRIPT LOAD,
a command the cache user's access string does not allow (and, on a cluster, one sent to
every primary), so its few lines are not reused.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from courses_api.cache.metrics import BREAKER_OPEN, CACHE_ERROR, COUNT, MetricsSink

if TYPE_CHECKING:
    from courses_api.cache.client import RedisClient

T = TypeVar("T")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


StateListener = Callable[[BreakerState, BreakerState, str], None]


class CircuitBreaker:
    """Per container. Closed: every call goes to Redis; ``failure_threshold`` consecutive
    failures open it. Open: Redis is skipped for ``cooldown_s``. Half-open: one caller probes;
    its success closes the breaker, its failure re-opens it. Thread-safe; ``on_change(old, new,
    reason)`` is called outside the lock."""

    def __init__(
        self,
        failure_threshold: int = 3,
        cooldown_s: float = 5.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: StateListener | None = None,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self._clock = clock
        self.on_change = on_change
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0

    @property
    def state(self) -> BreakerState:
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def allow(self) -> bool:
        """Whether this caller may use Redis now (at most one probe while half-open)."""
        if self.state is BreakerState.CLOSED:  # fast path, no lock
            return True
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return True
            if self._state is BreakerState.OPEN:
                if self._clock() - self._opened_at < self.cooldown_s:
                    return False
                self._state = BreakerState.HALF_OPEN
                self._opened_at = self._clock()  # the probe's start, to detect a lost probe
                change = (BreakerState.OPEN, BreakerState.HALF_OPEN, "cool-down elapsed; probing")
            elif self._clock() - self._opened_at < self.cooldown_s:
                return False  # half-open: only the probe goes through
            else:  # the probe never reported back (e.g. its caller died): let another one try
                self._opened_at = self._clock()
                return True
        self._notify(*change)
        return True

    def record_success(self) -> None:
        if self._state is BreakerState.CLOSED and self._failures == 0:
            return
        with self._lock:
            old = self._state
            self._state = BreakerState.CLOSED
            self._failures = 0
        if old is not BreakerState.CLOSED:
            self._notify(old, BreakerState.CLOSED, "probe succeeded")

    def record_failure(self, reason: str = "") -> None:
        with self._lock:
            old = self._state
            self._failures += 1
            if old is BreakerState.HALF_OPEN or (
                old is BreakerState.CLOSED and self._failures >= self.failure_threshold
            ):
                self._state = BreakerState.OPEN
                self._opened_at = self._clock()
            new = self._state
        if new is not old:
            self._notify(old, new, reason)

    def _notify(self, old: BreakerState, new: BreakerState, reason: str) -> None:
        if self.on_change is not None:
            self.on_change(old, new, reason)


@cache
def redis_errors() -> tuple[type[BaseException], ...]:
    """What a failed Redis call raises. redis-py loads with the client, not with this module."""
    from redis.exceptions import RedisClusterException, RedisError

    return (RedisError, RedisClusterException, OSError)


class WarningLogger(Protocol):
    """What the cache needs from a logger (stdlib or Powertools)."""

    def warning(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None: ...


def default_logger() -> WarningLogger:
    from aws_lambda_powertools import Logger

    return Logger(child=True)


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


class GuardedRedis:
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
        is_factory = callable(client) and not hasattr(client, "evalsha")
        self._client: RedisClient | None = None if is_factory else cast("RedisClient", client)
        self._factory = cast("Callable[[], RedisClient]", client) if is_factory else None
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
        """One script call: EVALSHA, and EVAL where the node does not have the script yet."""
        from redis.exceptions import NoScriptError  # loaded with the client already

        def evaluate(client: RedisClient) -> Any:
            try:
                return client.evalsha(call.script.sha, len(call.keys), *call.keys, *call.args)
            except NoScriptError:
                return client.eval(call.script.source, len(call.keys), *call.keys, *call.args)

        return self.call(evaluate)

    def run_many(self, calls: Sequence[ScriptCall]) -> list[Any]:
        """Many script calls in one pipeline, as EVAL: redis-py refuses EVALSHA in a cluster
        pipeline, and a NOSCRIPT in the middle of one would need a second round trip; Redis
        compiles each body once and caches it."""
        return self._pipeline([("EVAL", c.script.source, len(c.keys), *c.keys, *c.args) for c in calls])

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """Plain GETs of keys in any slots, in one pipeline (never a cross-slot MGET)."""
        return cast("list[bytes | None]", self._pipeline([("GET", key) for key in keys]))

    def _pipeline(self, commands: Sequence[tuple[Any, ...]]) -> list[Any]:
        """One non-transactional pipeline: one round trip per node. ``execute_command``, as
        ``ClusterPipeline.eval`` is not the EVAL command."""

        def execute(client: RedisClient) -> list[Any]:
            pipe = client.pipeline(transaction=False)
            for command in commands:
                pipe.execute_command(*command)
            return list(pipe.execute())

        return self.call(execute)

    def count_error(self, message: str, *, log: bool = True) -> None:
        self.metrics.add_metric(CACHE_ERROR, COUNT, 1)
        if log:
            self.logger.warning(message)

    def _get_client(self) -> RedisClient:
        if self._client is None:
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
            extra={"breaker_from": str(old), "breaker_to": str(new), "reason": reason[:200],
                   "cooldown_s": self.breaker.cooldown_s,
                   **({"cause": cause, "redis_error": error} if new is BreakerState.OPEN else {})},
        )
