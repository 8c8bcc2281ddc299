"""``RedisCacheManager``: near cache + Redis, leases, generations, version fences, breaker.

Read path of one entry (:mod:`courses_api.cache.entries`): the near cache (unless
``skip_near``), ``peek`` (one plain ``GET``/``MGET``), and on a miss ``read``, one Lua round
trip that returns a value filled meanwhile, grants a lease, or says another reader holds it
(poll briefly, then load without the cache); with a lease, load and ``fill``, which an
invalidation in between refuses (no stale set). ``fetch_items`` does the same for many items
at a fixed number of round trips. Any Redis failure is a BYPASS. Invalidations are not queued
when Redis is down: the stream invalidator retries each until Redis takes it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Generic, TypeVar, cast

from pydantic import TypeAdapter

from courses_api.cache.api import (
    FENCE_UNKNOWN,
    BatchLoader,
    Cached,
    CacheOutcome,
    DependencyStatus,
    EventualRead,
    ListNamespace,
    fence_admits,
)
from courses_api.cache.codec import Codec, CodecError, Decoded
from courses_api.cache.config import CacheConfig, Clock, SystemClock
from courses_api.cache.entries import (
    INVALIDATE_ITEM,
    INVALIDATE_NAMESPACE,
    Entry,
    ItemEntry,
    ItemSource,
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
from courses_api.cache.keys import KeySpace
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


@dataclass(slots=True)
class _Batch(Generic[T]):
    """One ``fetch_items`` call: what is served, and what each unserved id needs."""

    adapter: TypeAdapter[T]
    entries: dict[str, ItemEntry] = field(default_factory=dict)
    found: dict[str, Cached[T | None]] = field(default_factory=dict)
    leases: dict[str, Lease] = field(default_factory=dict)  # load and fill
    unstored: list[str] = field(default_factory=list)  # another reader holds the lease: load, do not store
    bypassed: list[str] = field(default_factory=list)  # Redis failed, or an undecodable entry: load only


class RedisCacheManager:
    """Two-tier read-through cache implementing :class:`~courses_api.cache.api.ReadThroughCache`."""

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
        """Item by id; a ``None`` from the loader is cached for ``negative_ttl_s``."""
        return self._fetch(self._item(item_id), ItemSource(load, eventual), adapter, skip_near)

    def fetch_items(self, item_ids: Sequence[str], load_many: BatchLoader[T], adapter: TypeAdapter[T], *,
                    skip_near: bool = False, version: Callable[[T], int] | None = None,
                    ) -> dict[str, Cached[T | None]]:
        """Many items, as ``fetch_item`` would serve each, in a fixed number of round trips:
        near cache; one pipeline of GETs; for the misses one pipeline of lease scripts, one
        ``load_many`` and one pipeline of fills (the fills keep the single path's no-stale-set
        guarantee). An id whose lease another reader holds is loaded with the rest, not waited
        for (and not stored)."""
        batch = _Batch[T](adapter)
        remaining = list(dict.fromkeys(item_ids))
        if not skip_near:
            for item_id in list(remaining):
                hit, value = self.near.get(self.keys.item(item_id).value)
                if hit:
                    batch.found[item_id] = Cached(cast("T | None", value), CacheOutcome.HIT)
                    remaining.remove(item_id)
            self._count(CACHE_NEAR_HIT, len(batch.found))
        batch.entries = {item_id: self._item(item_id) for item_id in remaining}
        try:
            self._batch_lookup(batch, remaining)
        except Bypassed:
            batch.bypassed = [i for i in remaining if i not in batch.found]
            batch.leases, batch.unstored = {}, []
        self._count(CACHE_HIT, len(batch.found))
        to_load = [*batch.leases, *batch.unstored, *batch.bypassed]
        if not to_load:
            return batch.found
        try:
            loaded = self._read_many(to_load, batch.leases, load_many, version)
        except BaseException:
            self._release({batch.entries[i]: lease for i, lease in batch.leases.items()})
            raise
        for item_id in to_load:
            outcome = CacheOutcome.BYPASS if item_id in batch.bypassed else CacheOutcome.MISS
            batch.found[item_id] = Cached(loaded.get(item_id), outcome)
        self._count(CACHE_BYPASS, len(batch.bypassed))
        self._count(CACHE_MISS, len(batch.leases) + len(batch.unstored))
        if batch.leases:  # absent rows are stored as negative entries
            self._fill([(batch.entries[i], lease, loaded.get(i)) for i, lease in batch.leases.items()],
                       batch.adapter, pipelined=True)
        return batch.found

    def fetch_list(self, namespace: ListNamespace, page_key: str, load: Callable[[], T],  # noqa: PLR0913
                   adapter: TypeAdapter[T], *, skip_near: bool = False, eventual: Callable[[], T] | None = None,
                   ) -> Cached[T]:
        """One page of a list under its namespace's generation counter."""
        entry = PageEntry(self.keys.page(namespace, page_key), self.config.list_ttl_s)
        source = PageSource(load, namespace.consistent_reads, eventual if namespace.consistent_reads else None)
        return cast(Cached[T], self._fetch(entry, source, adapter, skip_near))

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
        stats = self.near.stats()
        extra: dict[str, object] = {"breaker": str(self.breaker.state), "near_entries": stats.entries,
                                    "near_bytes": stats.bytes}
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

    def _item(self, item_id: str) -> ItemEntry:
        return ItemEntry(self.keys.item(item_id), self.config.item_ttl_s, self.config.negative_ttl_s)

    def _fetch(self, entry: Entry, source: Source, adapter: TypeAdapter[T], skip_near: bool) -> Cached[T | None]:
        if not skip_near:
            found, value = self.near.get(entry.value_key)
            if found:
                self._count(CACHE_HIT, 1)
                self._count(CACHE_NEAR_HIT, 1)
                return Cached(cast("T | None", value), CacheOutcome.HIT)
        try:
            raw = self.redis.call(entry.peek)
        except Bypassed:
            return self._bypass(entry, source, adapter)
        if raw is not None:
            return self._serve_hit(entry, raw, source, adapter)
        return self._fetch_missed(entry, source, adapter)

    def _fetch_missed(self, entry: Entry, source: Source, adapter: TypeAdapter[T]) -> Cached[T | None]:
        """The lease protocol: a hit filled meanwhile, or a lease to load and fill, or a wait."""
        token = os.urandom(8).hex()
        deadline = 0.0
        poll = self.config.lease_poll_s
        while True:
            try:
                reply = self.redis.run(entry.read(token, self.config, self._now_us()))
            except Bypassed:
                return self._bypass(entry, source, adapter)
            result = entry.parse_read(reply, token)
            if isinstance(result, bytes):
                return self._serve_hit(entry, result, source, adapter)
            if result is not None:
                return self._load_and_fill(entry, result, source, adapter)
            # Someone else holds the lease: poll briefly for their fill, then give up waiting.
            now = self.clock.monotonic()
            if not deadline:
                deadline = now + self.config.lease_wait_s
                self._count(CACHE_LEASE_WAIT, 1)
            elif now >= deadline:
                self._count(CACHE_MISS, 1)
                return Cached(cast("T | None", source.load()), CacheOutcome.MISS)
            self.clock.sleep(min(poll, max(deadline - now, 0.0)))
            poll = min(poll * 2, 0.02)

    def _serve_hit(self, entry: Entry, raw: bytes, source: Source, adapter: TypeAdapter[T]) -> Cached[T | None]:
        decoded = self._decode(entry.value_key, raw, adapter)
        if decoded is None:
            return self._bypass(entry, source, adapter)
        self._count(CACHE_HIT, 1)
        return Cached(decoded.value, CacheOutcome.HIT)

    def _decode(self, key: str, raw: bytes, adapter: TypeAdapter[T]) -> Decoded[T] | None:
        """A stored value, now in the near cache too; ``None`` (an error) when it cannot be decoded."""
        try:
            decoded = self.codec.decode(raw, adapter)
        except CodecError as exc:
            self.redis.count_error(f"undecodable cache entry {key}: {exc}")
            return None
        self.near.put(key, decoded.value, decoded.raw_size)
        return decoded

    def _load_and_fill(self, entry: Entry, lease: Lease, source: Source, adapter: TypeAdapter[T]) -> Cached[T | None]:
        try:
            raw_value, storable = source.read_for(lease)
        except BaseException:
            self._release({entry: lease})
            raise
        value = cast("T | None", raw_value)
        self._count(CACHE_MISS, 1)
        if storable:
            self._fill([(entry, lease, value)], adapter, pipelined=False)
        else:
            self._release({entry: lease})
        return Cached(value, CacheOutcome.MISS)

    def _fill(self, fills: Sequence[tuple[Entry, Lease, T | None]], adapter: TypeAdapter[T], *,
              pipelined: bool) -> None:
        """Store loaded values under their leases: one script (EVALSHA), or one pipeline.

        Only a value Redis accepted enters the near cache: a refused fill means an invalidation
        happened during the load, so the value may be stale.
        """
        encoded = [self.codec.encode(value, adapter) for _, _, value in fills]
        calls = [entry.fill(lease, data.data, self.config.jittered_ms(entry.ttl_s(value)))
                 for (entry, lease, value), data in zip(fills, encoded, strict=True)]
        try:
            stored = self.redis.run_many(calls) if pipelined else [self.redis.run(calls[0])]
        except Bypassed:
            return
        for (entry, _, value), data, accepted in zip(fills, encoded, stored, strict=True):
            if accepted == 1:
                self.near.put(entry.value_key, value, data.raw_size)

    def _bypass(self, entry: Entry, source: Source, adapter: TypeAdapter[T]) -> Cached[T | None]:
        """Load without Redis. With Redis down, the value still enters the near cache: a hot key then costs
        one database read per container per near TTL (50,000/s on 1,000 containers: 1,000 reads/s, under a
        partition's 3,000 read units/s, where reading on every request would be 50,000; ``make bench``'s
        hot-course model), and its staleness stays bounded by the same near TTL."""
        self._count(CACHE_BYPASS, 1)
        value = cast("T | None", source.load())
        self.near.put(entry.value_key, value, len(adapter.dump_json(value)) if value is not None else 0)
        return Cached(value, CacheOutcome.BYPASS)

    # ------------------------------------------------------------------ batch helpers

    def _batch_lookup(self, batch: _Batch[T], remaining: list[str]) -> None:
        """One pipeline of GETs, then one of lease scripts for the misses."""
        missed = []
        raws = self.redis.get_many([batch.entries[i].value_key for i in remaining]) if remaining else []
        for item_id, raw in zip(remaining, raws, strict=True):
            if raw is None:
                missed.append(item_id)
            else:
                self._batch_hit(batch, item_id, raw)
        tokens = {item_id: os.urandom(8).hex() for item_id in missed}
        now_us = self._now_us()
        calls = [batch.entries[i].read(tokens[i], self.config, now_us) for i in missed]
        for item_id, reply in zip(missed, self.redis.run_many(calls) if calls else [], strict=True):
            result = batch.entries[item_id].parse_read(reply, tokens[item_id])
            if isinstance(result, bytes):
                self._batch_hit(batch, item_id, result)
            elif result is not None:
                batch.leases[item_id] = result
            else:
                batch.unstored.append(item_id)

    def _batch_hit(self, batch: _Batch[T], item_id: str, raw: bytes) -> None:
        """Serve a batch hit; an undecodable one is bypassed."""
        decoded = self._decode(batch.entries[item_id].value_key, raw, batch.adapter)
        if decoded is None:
            batch.bypassed.append(item_id)
        else:
            batch.found[item_id] = Cached(decoded.value, CacheOutcome.HIT)

    def _read_many(self, to_load: list[str], leases: dict[str, Lease], load_many: BatchLoader[T],
                   version: Callable[[T], int] | None) -> dict[str, T]:
        """Without ``version``: strongly consistent if any row is to be stored (see BatchLoader).

        With it: eventually consistent, then strongly consistently (in one more load) the
        leased rows older than their fence, and those whose fence trusts no eventual read
        (an absent row is refused under a version fence too).
        """
        if version is None:
            return dict(load_many(to_load, consistent=bool(leases)))
        untrusted = {i for i, lease in leases.items() if lease.fence == FENCE_UNKNOWN}
        eventual = [i for i in to_load if i not in untrusted]
        loaded = dict(load_many(eventual, consistent=False)) if eventual else {}
        refused = [i for i, lease in leases.items()
                   if i in untrusted or not fence_admits(lease.fence, loaded.get(i), version)]
        if refused:
            for item_id in refused:
                loaded.pop(item_id, None)
            loaded.update(load_many(refused, consistent=True))
        return loaded

    def _release(self, leases: Mapping[Entry, Lease]) -> None:
        if leases:
            with contextlib.suppress(Bypassed):
                self.redis.run_many([entry.release(lease) for entry, lease in leases.items()])

    def _count(self, name: str, value: int) -> None:
        if value:
            self.metrics.add_metric(name, COUNT, value)

    def _now_us(self) -> int:
        """Wall-clock microseconds: the seed of a missing generation counter (see scripts)."""
        return int(self.clock.time() * 1_000_000)
