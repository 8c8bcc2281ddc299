"""``RedisCacheManager``: near cache + Redis, leases, generations, version fences, breaker.

Read path of one entry (:mod:`courses_api.cache.entries`): the near cache (unless
``skip_near``), ``peek`` (one plain ``GET``/``MGET``), and on a miss ``read``, one Lua round
trip that returns a value filled meanwhile, grants a lease, or says another reader holds it
(poll briefly, then load without the cache); with a lease, load and ``fill``, which an
invalidation in between refuses (no stale set). ``fetch_items`` runs the same path for many
items, each step one pipeline (a fixed number of round trips). Any Redis failure is a BYPASS.
Invalidations are not queued when Redis is down: the stream invalidator retries each.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, cast

from pydantic import TypeAdapter

from courses_api.cache.api import (
    FENCE_UNKNOWN,
    BatchLoader,
    Cached,
    CacheOutcome,
    DependencyStatus,
    EventualRead,
    ListNamespace,
    ReadThroughCache,
)
from courses_api.cache.codec import Codec, CodecError
from courses_api.cache.config import CacheConfig, Clock, SystemClock
from courses_api.cache.entries import (
    INVALIDATE_ITEM,
    INVALIDATE_NAMESPACE,
    BatchSource,
    Entry,
    ItemSource,
    KeySpace,
    Lease,
    PageEntry,
    PageSource,
    Source,
)
from courses_api.cache.guard import (
    BreakerState,
    Bypassed,
    CircuitBreaker,
    GuardedRedis,
    ScriptCall,
    WarningLogger,
    default_logger,
)
from courses_api.cache.metrics import (
    CACHE_BYPASS,
    CACHE_HIT,
    CACHE_LEASE_WAIT,
    CACHE_MISS,
    CACHE_NEAR_HIT,
    COUNT,
    MetricsSink,
)
from courses_api.cache.near import NearCache

if TYPE_CHECKING:
    from courses_api.cache.client import RedisClient

T = TypeVar("T")

# Where one entry's read stands after the lookup: served, leased (load and fill), or to load
# without storing: MISS (another reader holds the lease), BYPASS (Redis failed, or undecodable).
State: TypeAlias = Cached[Any] | Lease | CacheOutcome


class RedisCacheManager(ReadThroughCache):
    """The two-tier read-through cache: the near cache in front of Redis."""

    def __init__(self, client: RedisClient | Callable[[], RedisClient], metrics: MetricsSink, *,
                 config: CacheConfig | None = None, clock: Clock | None = None,
                 logger: WarningLogger | None = None) -> None:
        """``client`` may be a factory, called lazily (and under the breaker) on first use. The
        near cache, the breaker and the codec are this manager's own, driven by ``clock``."""
        self.metrics = metrics
        self.config = config = config or CacheConfig()
        self.clock: Clock = clock or SystemClock()
        self.keys: KeySpace = config.keys
        self.near = NearCache(config.near_ttl_s, config.near_max_entries, config.near_max_bytes, self.clock.monotonic)
        self.breaker = CircuitBreaker(config.breaker_failure_threshold, config.breaker_cooldown_s,
                                      clock=self.clock.monotonic)
        self.codec = Codec()
        self.logger: WarningLogger = logger or default_logger()
        self.redis = GuardedRedis(client, self.breaker, metrics, self.logger)

    # ------------------------------------------------------------------ public API

    def fetch_item(self, item_id: str, load: Callable[[], T | None], adapter: TypeAdapter[T], *,
                   skip_near: bool = False, eventual: EventualRead[T] | None = None) -> Cached[T | None]:
        return self._read([self.keys.item(item_id)], ItemSource(load, eventual), adapter, skip_near)[0]

    def fetch_items(self, item_ids: Sequence[str], load_many: BatchLoader[T], adapter: TypeAdapter[T], *,
                    skip_near: bool = False, version: Callable[[T], int] | None = None,
                    ) -> dict[str, Cached[T | None]]:
        """Many items, as ``fetch_item`` would serve each, in a fixed number of round trips:
        near cache; one pipeline of GETs; for the misses one pipeline of lease scripts, one
        ``load_many`` and one pipeline of fills. An id whose lease another reader holds is
        loaded with the rest, not waited for (and not stored)."""
        ids = list(dict.fromkeys(item_ids))
        served = self._read([self.keys.item(i) for i in ids], BatchSource(ids, load_many, version), adapter, skip_near)
        return dict(zip(ids, served, strict=True))

    def fetch_list(self, namespace: ListNamespace, page_key: str, load: Callable[[], T],  # noqa: PLR0913
                   adapter: TypeAdapter[T], *, skip_near: bool = False, eventual: Callable[[], T] | None = None,
                   ) -> Cached[T]:
        source = PageSource(load, namespace.consistent_reads, eventual if namespace.consistent_reads else None)
        return cast(Cached[T], self._read([self.keys.page(namespace, page_key)], source, adapter, skip_near)[0])

    def invalidate(self, item_ids: Iterable[str], namespaces: Iterable[ListNamespace], *,
                   fences: Mapping[str, str] | None = None, write_id: str | None = None) -> bool:
        """This container's near entries at once, then one pipeline of invalidation scripts."""
        ids = list(dict.fromkeys(item_ids))
        spaces = list(dict.fromkeys(namespaces))
        if not ids and not spaces:
            return True
        self.near.invalidate([self.keys.item(i).value for i in ids], [self.keys.page(ns, "").group for ns in spaces])
        config, given = self.config, fences or {}
        calls = []
        for item_id in ids:
            item = self.keys.item(item_id)
            calls.append(ScriptCall(INVALIDATE_ITEM, [item.fence, item.unsure, item.lease, item.value],
                                    [given.get(item_id, FENCE_UNKNOWN), config.fence_ttl_ms,
                                     config.fence_retention_ms]))
        for namespace in spaces:
            keys = [self.keys.generation(namespace), self.keys.namespace_fence(namespace)]
            if write_id:
                keys.append(self.keys.write_marker(namespace, write_id))
            calls.append(ScriptCall(INVALIDATE_NAMESPACE, keys, [str(self._now_us()), config.generation_ttl_ms,
                                                                 config.fence_ttl_ms, config.fence_retention_ms]))
        try:
            self.redis.run_many(calls)
        except Bypassed:
            self.logger.warning(
                "cache invalidation not delivered: redis unavailable; the stream invalidator retries it",
                extra={"item_ids": ids[:20], "namespaces": [f"{n.kind}:{n.partition}" for n in spaces][:20]},
            )
            return False
        return True

    def health(self) -> DependencyStatus:
        """PING Redis through the breaker; never raises."""
        started = self.clock.monotonic()
        entries, size = self.near.stats()
        extra: dict[str, object] = {"breaker": str(self.breaker.state), "near_entries": entries, "near_bytes": size}
        try:
            self.redis.call(lambda client: client.ping())
        except Bypassed:
            cause, error = self.redis.last_failure or ("unreachable", "")
            opened = "; circuit breaker open" if self.breaker.state is not BreakerState.CLOSED else ""
            detail = f"redis {cause.replace('_', ' ')}{opened}; reads bypass the cache"
            return DependencyStatus("degraded", detail, {**extra, "cause": cause, "redis_error": error})
        extra["latency_ms"] = round((self.clock.monotonic() - started) * 1000, 3)
        return DependencyStatus("ok", "", extra)

    def clear_near(self) -> None:
        """Empty this container's near cache (benchmarks, tests)."""
        self.near.clear()

    # ------------------------------------------------------------------ read path

    def _read(self, entries: Sequence[Entry], source: Source | BatchSource, adapter: TypeAdapter[T],
              skip_near: bool) -> list[Cached[T | None]]:
        """One entry (EVALSHA calls) or an item batch (pipelines): look up, wait for another
        reader's lease (one entry only), one load of what is not served, fill what was leased."""
        pipelined = isinstance(source, BatchSource)
        states = self._lookup(entries, adapter, skip_near, pipelined)
        if not pipelined and states[0] is CacheOutcome.MISS:
            states[0] = self._wait(entries[0], adapter)
        pending = {n: state if isinstance(state, Lease) else None
                   for n, state in enumerate(states) if not isinstance(state, Cached)}
        if not pending:  # all hits: the near cache's hot path
            self._count(CACHE_HIT, len(states))
            return cast("list[Cached[T | None]]", states)
        leases = [(entries[n], lease, n) for n, lease in pending.items() if lease is not None]
        try:
            loaded = source.read(pending) if isinstance(source, BatchSource) else {
                n: source.read_for(lease) if lease else (source.load(), False) for n, lease in pending.items()}
        except BaseException:
            self._release([(entry, lease) for entry, lease, _ in leases])
            raise
        if leases:
            self._release([(entry, lease) for entry, lease, n in leases if not loaded[n][1]])
            self._fill([(entry, lease, loaded[n][0]) for entry, lease, n in leases if loaded[n][1]], adapter,
                       pipelined)
        served = [state if isinstance(state, Cached) else self._loaded(entries[n], state, loaded[n][0], adapter,
                                                                       pipelined) for n, state in enumerate(states)]
        bypassed = [n for n in pending if states[n] is CacheOutcome.BYPASS]
        self._count(CACHE_HIT, len(states) - len(pending))
        self._count(CACHE_MISS, len(pending) - len(bypassed))
        self._count(CACHE_BYPASS, len(bypassed))
        return served

    def _lookup(self, entries: Sequence[Entry], adapter: TypeAdapter[T], skip_near: bool,
                pipelined: bool) -> list[State]:
        """Near cache, then the peek (hits are plain reads), then the lease scripts of the misses."""
        states: list[State] = [CacheOutcome.BYPASS] * len(entries)
        todo = []
        for n, entry in enumerate(entries):
            found, value = (False, None) if skip_near else self.near.get(entry.value)
            if found:
                states[n] = Cached(value, CacheOutcome.HIT)
            else:
                todo.append(n)
        self._count(CACHE_NEAR_HIT, len(entries) - len(todo))
        if not todo:
            return states
        try:
            missed = []
            for n, raw in zip(todo, self._peek([entries[n] for n in todo], pipelined), strict=True):
                if raw is None:
                    missed.append(n)
                else:
                    states[n] = self._hit(entries[n], raw, adapter)
            if missed:
                for n, state in zip(missed, self._lease([entries[n] for n in missed], adapter, pipelined),
                                    strict=True):
                    states[n] = state
        except Bypassed:
            pass  # what is not served by then stays a BYPASS
        return states

    def _peek(self, entries: Sequence[Entry], pipelined: bool) -> list[bytes | None]:
        """One entry's GET (a page's MGET), or one pipeline of GETs for a batch of items."""
        if pipelined:
            return self.redis.get_many([entry.value for entry in entries])
        return [self.redis.call(entries[0].peek)]

    def _lease(self, entries: Sequence[Entry], adapter: TypeAdapter[T], pipelined: bool) -> list[State]:
        """The read scripts: a value filled since the peek, a lease, or MISS (another reader holds it)."""
        tokens = [os.urandom(8).hex() for _ in entries]
        now_us = self._now_us()
        calls = [entry.read(token, self.config, now_us) for entry, token in zip(entries, tokens, strict=True)]
        replies = self._run(calls, pipelined)
        states: list[State] = []
        for entry, token, reply in zip(entries, tokens, replies, strict=True):
            result = entry.parse_read(reply, token)
            states.append(self._hit(entry, result, adapter) if isinstance(result, bytes)
                          else result or CacheOutcome.MISS)
        return states

    def _wait(self, entry: Entry, adapter: TypeAdapter[T]) -> State:
        """Another reader holds the lease: poll briefly for its fill, then load without storing."""
        self._count(CACHE_LEASE_WAIT, 1)
        deadline = self.clock.monotonic() + self.config.lease_wait_s
        poll, state = self.config.lease_poll_s, cast(State, CacheOutcome.MISS)
        while state is CacheOutcome.MISS and (now := self.clock.monotonic()) < deadline:
            self.clock.sleep(min(poll, deadline - now))
            poll = min(poll * 2, 0.02)
            try:
                state = self._lease([entry], adapter, False)[0]
            except Bypassed:
                return CacheOutcome.BYPASS
        return state

    def _hit(self, entry: Entry, raw: bytes, adapter: TypeAdapter[Any]) -> State:
        """A stored value, now in the near cache too; BYPASS (an error) when it cannot be decoded."""
        try:
            value, raw_size = self.codec.decode(raw, adapter)
        except CodecError as exc:
            self.redis.count_error(f"undecodable cache entry {entry.value}: {exc}")
            return CacheOutcome.BYPASS
        self.near.put(entry.value, value, raw_size)
        return Cached(value, CacheOutcome.HIT)

    def _loaded(self, entry: Entry, state: State, value: object, adapter: TypeAdapter[T],
                pipelined: bool) -> Cached[T | None]:
        """A loaded value as served. A single read that bypassed Redis fills the near cache: with
        Redis down a hot key then costs one database read per container per near TTL (50,000/s on
        1,000 containers: 1,000 reads/s, under a partition's 3,000 read units/s, where reading on
        every request would be 50,000; ``make bench``'s hot-course model), and its staleness stays
        bounded by the same near TTL."""
        if state is not CacheOutcome.BYPASS:
            return Cached(cast("T | None", value), CacheOutcome.MISS)
        if not pipelined:
            self.near.put(entry.value, value, len(adapter.dump_json(cast(T, value))) if value is not None else 0)
        return Cached(cast("T | None", value), CacheOutcome.BYPASS)

    def _fill(self, fills: Sequence[tuple[Entry, Lease, object]], adapter: TypeAdapter[T], pipelined: bool) -> None:
        """Store loaded values under their leases. Only a value Redis accepted enters the near
        cache: a refused fill means an invalidation happened during the load (it may be stale)."""
        if not fills:
            return
        encoded = [self.codec.encode(cast("T | None", value), adapter) for _, _, value in fills]
        config = self.config
        calls = [entry.fill(lease, data, config.jittered_ms(config.list_ttl_s if isinstance(entry, PageEntry)
                                                            else config.negative_ttl_s if value is None
                                                            else config.item_ttl_s))
                 for (entry, lease, value), (data, _) in zip(fills, encoded, strict=True)]
        with contextlib.suppress(Bypassed):
            for (entry, _, value), (_, size), stored in zip(fills, encoded, self._run(calls, pipelined), strict=True):
                if stored == 1:
                    self.near.put(entry.value, value, size)

    def _run(self, calls: Sequence[ScriptCall], pipelined: bool) -> list[Any]:
        return self.redis.run_many(calls) if pipelined else [self.redis.run(calls[0])]

    def _release(self, leases: Sequence[tuple[Entry, Lease]]) -> None:
        if leases:
            with contextlib.suppress(Bypassed):
                self.redis.run_many([entry.release(lease) for entry, lease in leases])

    def _count(self, name: str, value: int) -> None:
        if value:
            self.metrics.add_metric(name, COUNT, value)

    def _now_us(self) -> int:
        """Wall-clock microseconds: the seed of a missing generation counter (see scripts)."""
        return int(self.clock.time() * 1_000_000)
