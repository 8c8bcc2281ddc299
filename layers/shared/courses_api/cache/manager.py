"""``RedisCacheManager``: near cache + Redis, leases, generations, version fences, breaker.

Read path of one entry (an :class:`~courses_api.cache.entries.ItemEntry` or a
:class:`~courses_api.cache.entries.PageEntry`, both with the same methods):

1. near cache (unless ``skip_near``): a hit costs no network hop;
2. ``peek``: one plain ``GET`` of the value (a page: one ``MGET`` of its generation and
   itself, one slot), no script: reads never write, and only the guarded fills below
   ever store a value, so whatever the GET finds is what the lease script would have
   returned. This is the common case and costs what a bare GET costs;
3. on a miss, ``read``: one Lua round trip that either returns a value filled meanwhile,
   or grants this reader a lease (with the entry's fence), or says another reader holds
   it (then poll briefly, then load without the cache);
4. on a lease: read the value (eventually consistently where a fence can vouch for it,
   see :mod:`courses_api.cache.entries`) and ``fill`` it with a script that only writes
   if the lease (and, for lists, the generation) is still current: an invalidation in
   between wins, so no stale set;
5. a hit whose remaining time (from the expiry the filler stored in the value, see
   ``codec``) is within XFetch's probabilistic window takes a ``refresh`` lease, valid
   only while the entry is still the one it saw, and reloads before expiry.

Any Redis failure is a BYPASS (see :mod:`courses_api.cache.link`); reads never invalidate.
The near cache is bounded by its TTL across containers: why it is not push-invalidated
is in ``docs/ARCHITECTURE.md``.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pydantic import TypeAdapter

from courses_api.cache import scripts
from courses_api.cache.api import (
    FENCE_UNKNOWN,
    BatchLoader,
    Cached,
    CacheOutcome,
    DependencyStatus,
    Fenced,
    ListNamespace,
    PageReads,
)
from courses_api.cache.batch import BatchFetch
from courses_api.cache.breaker import BreakerState, CircuitBreaker
from courses_api.cache.codec import Codec, CodecError, Decoded
from courses_api.cache.config import CacheConfig, Clock, SystemClock
from courses_api.cache.entries import Entry, ItemSource, Lease, PageSource, ReadResult, Source
from courses_api.cache.keys import KeySpace
from courses_api.cache.link import Bypassed, RedisLink, Script, ScriptCall, WarningLogger, default_logger
from courses_api.cache.metrics import (
    CACHE_BYPASS,
    CACHE_EARLY_REFRESH,
    CACHE_HIT,
    CACHE_LEASE_WAIT,
    CACHE_MISS,
    CACHE_NEAR_HIT,
    COUNT,
    MetricsSink,
)
from courses_api.cache.near import NearCache
from courses_api.cache.tier import NEAR_ENTRY_OVERHEAD, Tier

if TYPE_CHECKING:
    from courses_api.cache.client import RedisClient

T = TypeVar("T")
INVALIDATE_ITEM = Script.of(scripts.INVALIDATE_ITEM)
INVALIDATE_NAMESPACE = Script.of(scripts.INVALIDATE_NAMESPACE)


class RedisCacheManager:
    """Two-tier read-through cache implementing :class:`~courses_api.cache.api.ReadThroughCache`."""

    def __init__(
        self,
        client: RedisClient | Callable[[], RedisClient],
        metrics: MetricsSink,
        *,
        config: CacheConfig | None = None,
        clock: Clock | None = None,
        logger: WarningLogger | None = None,
    ) -> None:
        """``client`` may be a factory, called lazily (and under the breaker) on first use.

        The near cache, the breaker and the codec are this manager's own, built from
        ``config`` and driven by ``clock``.
        """
        self.metrics = metrics
        self.config = config = config or CacheConfig()
        self.clock: Clock = clock or SystemClock()
        self.keys: KeySpace = config.keys
        self.near = NearCache(config.near_ttl_s, config.near_max_entries, config.near_max_bytes, self.clock.monotonic)
        self.breaker = CircuitBreaker(
            config.breaker_failure_threshold, config.breaker_cooldown_s, clock=self.clock.monotonic
        )
        self.codec = Codec()
        self.logger: WarningLogger = logger or default_logger()
        self._link = RedisLink(client, self.breaker, metrics, self.logger)
        self._tier = Tier(self._link, self.near, self.codec, self.keys, self.config, self.clock, metrics)

    # ------------------------------------------------------------------ public API

    def fetch_item(
        self,
        item_id: str,
        load: Callable[[], T | None],
        adapter: TypeAdapter[T],
        *,
        skip_near: bool = False,
        fenced: Fenced[T] | None = None,
    ) -> Cached[T | None]:
        """Item by id; a ``None`` from the loader is cached for ``negative_ttl_s``."""
        return self._fetch(self._tier.item_entry(item_id), ItemSource(load, fenced), adapter, skip_near)

    def fetch_items(
        self,
        item_ids: Sequence[str],
        load_many: BatchLoader[T],
        adapter: TypeAdapter[T],
        *,
        skip_near: bool = False,
        version: Callable[[T], int] | None = None,
    ) -> dict[str, Cached[T | None]]:
        """Many items, as ``fetch_item`` would serve each, at a fixed number of round trips."""
        return BatchFetch(self._tier, adapter, load_many, version).run(item_ids, skip_near)

    def fetch_list(
        self,
        namespace: ListNamespace,
        page_key: str,
        load: Callable[[], T],
        adapter: TypeAdapter[T],
        *,
        skip_near: bool = False,
    ) -> Cached[T]:
        """One page of a list under its namespace's generation counter."""
        entry = self._tier.page_entry(namespace, page_key)
        eventual = load.eventual if isinstance(load, PageReads) and namespace.consistent_reads else None
        source = PageSource(load, namespace.consistent_reads, eventual)
        return cast(Cached[T], self._fetch(entry, source, adapter, skip_near))

    def invalidate(
        self,
        item_ids: Iterable[str],
        namespaces: Iterable[ListNamespace],
        *,
        fences: Mapping[str, str] | None = None,
        write_id: str | None = None,
    ) -> bool:
        """Drop items (value and lease, in both tiers of this container) behind their version
        fence, and bump each namespace's generation (and fence), once per ``write_id``.

        Never raises; returns whether Redis took it. Nothing is queued when Redis is down:
        the stream invalidator retries every invalidation until Redis takes it.
        """
        ids = list(dict.fromkeys(item_ids))
        spaces = list(dict.fromkeys(namespaces))
        if not ids and not spaces:
            return True
        given = fences or {}
        self.near.invalidate(
            [self.keys.item(i).value for i in ids],
            [self.keys.page(ns, "").group for ns in spaces],
        )
        calls = [self._invalidate_item(item_id, given.get(item_id, FENCE_UNKNOWN)) for item_id in ids]
        calls += [self._invalidate_namespace(namespace, write_id) for namespace in spaces]
        try:
            self._link.run_many(calls)
        except Bypassed:
            self.logger.warning(
                "cache invalidation not delivered: redis unavailable; the stream invalidator retries it",
                extra={"item_ids": ids[:20], "namespaces": [f"{n.kind}:{n.partition}" for n in spaces][:20]},
            )
            return False
        return True

    def _invalidate_item(self, item_id: str, fence: str) -> ScriptCall:
        keys = self.keys.item(item_id)
        return ScriptCall(INVALIDATE_ITEM, [keys.fence, keys.unsure, keys.lease, keys.value],
                          [fence, self.config.fence_ttl_ms, self.config.fence_retention_ms])

    def _invalidate_namespace(self, namespace: ListNamespace, write_id: str | None) -> ScriptCall:
        keys = [self.keys.generation(namespace), self.keys.namespace_fence(namespace)]
        if write_id:
            keys.append(self.keys.write_marker(namespace, write_id))
        config = self.config
        return ScriptCall(INVALIDATE_NAMESPACE, keys, [str(self._tier.now_us()), config.generation_ttl_ms,
                                                       config.fence_ttl_ms, config.fence_retention_ms])

    def health(self) -> DependencyStatus:
        """PING Redis through the breaker; never raises."""
        started = self.clock.monotonic()
        try:
            self._link.call(lambda client: client.ping())
        except Bypassed:
            cause, error = self._link.last_failure or ("unreachable", "")
            opened = "; circuit breaker open" if self.breaker.state is not BreakerState.CLOSED else ""
            detail = f"redis {cause.replace('_', ' ')}{opened}; reads bypass the cache"
            return DependencyStatus("degraded", detail, {**self._health_extra(), "cause": cause, "redis_error": error})
        latency_ms = round((self.clock.monotonic() - started) * 1000, 3)
        extra = self._health_extra()
        extra["latency_ms"] = latency_ms
        return DependencyStatus("ok", "", extra)

    def clear_near(self) -> None:
        """Empty this container's near cache (benchmarks, tests)."""
        self.near.clear()

    # ------------------------------------------------------------------ read path

    def _fetch(self, entry: Entry, source: Source, adapter: TypeAdapter[T], skip_near: bool) -> Cached[T | None]:
        epoch = self.near.epoch
        if not skip_near:
            found, value = self.near.get(entry.value_key)
            if found:
                self.metrics.add_metric(CACHE_HIT, COUNT, 1)
                self.metrics.add_metric(CACHE_NEAR_HIT, COUNT, 1)
                return Cached(cast("T | None", value), CacheOutcome.HIT)
        try:
            result = self._link.call(entry.peek)
        except Bypassed:
            return self._bypass(source, entry, adapter, epoch)
        if result is not None:
            return self._serve_hit(entry, result, source, adapter, epoch)
        return self._fetch_missed(entry, source, adapter, epoch)

    def _fetch_missed(self, entry: Entry, source: Source, adapter: TypeAdapter[T], epoch: int) -> Cached[T | None]:
        """The lease protocol: a hit filled meanwhile, or a lease to load and fill, or a wait."""
        token = os.urandom(8).hex()
        deadline = 0.0
        poll = self.config.lease_poll_s
        while True:
            try:
                reply = self._link.run(entry.read(token, self.config, self._tier.now_us()))
            except Bypassed:
                return self._bypass(source, entry, adapter, epoch)
            result = entry.parse_read(reply, token)
            if result.status == scripts.HIT:
                return self._serve_hit(entry, result, source, adapter, epoch)
            if result.lease is not None:
                return self._load_and_fill(entry, result.lease, source, adapter, epoch)
            # Someone else holds the lease: poll briefly for their fill, then give up waiting.
            now = self.clock.monotonic()
            if not deadline:
                deadline = now + self.config.lease_wait_s
                self.metrics.add_metric(CACHE_LEASE_WAIT, COUNT, 1)
            elif now >= deadline:
                self.metrics.add_metric(CACHE_MISS, COUNT, 1)
                return Cached(cast("T | None", source.load()), CacheOutcome.MISS)
            self.clock.sleep(min(poll, max(deadline - now, 0.0)))
            poll = min(poll * 2, 0.02)

    def _serve_hit(
        self, entry: Entry, result: ReadResult, source: Source, adapter: TypeAdapter[T], epoch: int
    ) -> Cached[T | None]:
        try:
            decoded = self.codec.decode(result.raw, adapter)
        except CodecError as exc:
            self._link.count_error(f"undecodable cache entry {entry.value_key}: {exc}")
            return self._bypass(source)
        if self._should_refresh(decoded):
            lease = self._take_refresh_lease(entry, decoded, result.generation)
            if lease is not None:
                self.metrics.add_metric(CACHE_EARLY_REFRESH, COUNT, 1)
                return self._load_and_fill(entry, lease, source, adapter, epoch)
        size = decoded.raw_size + NEAR_ENTRY_OVERHEAD
        self.near.put(entry.value_key, decoded.value, size, group=entry.near_group, epoch=epoch)
        self.metrics.add_metric(CACHE_HIT, COUNT, 1)
        return Cached(decoded.value, CacheOutcome.HIT)

    def _should_refresh(self, decoded: Decoded[Any]) -> bool:
        """XFetch: refresh with probability rising as expiry nears, scaled by recompute time.

        The time left comes from the expiry the filler stored in the value (wall clock),
        not from a PTTL round trip; hosts' clocks are NTP-synced to well under the
        milliseconds-to-seconds XFetch window, and skew only moves the refresh a little.
        """
        beta = self.config.early_refresh_beta
        if beta <= 0 or decoded.delta_ms <= 0 or decoded.expires_at_ms <= 0:
            return False
        remaining_ms = decoded.expires_at_ms - self.clock.time() * 1000
        gap = -decoded.delta_ms * beta * math.log(max(self.config.rng(), 1e-12))
        return gap >= remaining_ms

    def _take_refresh_lease(self, entry: Entry, decoded: Decoded[Any], generation: str) -> Lease | None:
        """A lease for an early refresh of the entry this reader saw, or ``None``."""
        call, lease = entry.refresh(os.urandom(8).hex(), generation, decoded.stamp, self.config)
        try:
            taken = self._link.run(call)
        except Bypassed:
            return None
        return lease if taken else None

    def _load_and_fill(
        self, entry: Entry, lease: Lease, source: Source, adapter: TypeAdapter[T], epoch: int
    ) -> Cached[T | None]:
        started = self.clock.monotonic()
        try:
            raw_value, storable = source.read_for(lease)
        except BaseException:
            self._release(entry, lease)
            raise
        value = cast("T | None", raw_value)
        self.metrics.add_metric(CACHE_MISS, COUNT, 1)
        if not storable:
            self._release(entry, lease)
            return Cached(value, CacheOutcome.MISS)
        ttl_ms = self.config.jittered_ms(entry.ttl_s(value))
        expires_at_ms = int(self.clock.time() * 1000) + ttl_ms
        encoded = self.codec.encode(value, adapter, (self.clock.monotonic() - started) * 1000, expires_at_ms)
        try:
            stored = self._link.run(entry.fill(lease, encoded.data, ttl_ms, self.config))
        except Bypassed:
            stored = 0
        if stored == 1:
            # Only a value Redis accepted may enter the near cache: a rejected fill means an
            # invalidation happened during the load, so the value may be stale.
            size = encoded.raw_size + NEAR_ENTRY_OVERHEAD
            self.near.put(entry.value_key, value, size, group=entry.near_group, epoch=epoch)
        return Cached(value, CacheOutcome.MISS)

    def _release(self, entry: Entry, lease: Lease) -> None:
        with contextlib.suppress(Bypassed):
            self._link.run(entry.release(lease))

    def _bypass(
        self, source: Source, entry: Entry | None = None, adapter: TypeAdapter[Any] | None = None, epoch: int = -1
    ) -> Cached[Any]:
        """Load without Redis. With Redis down, the value still enters the near cache: a hot key then costs
        one database read per container per near TTL (50,000/s on 1,000 containers: 1,000 reads/s, under a
        partition's 3,000 read units/s, where reading on every request would be 50,000; ``make bench``'s
        hot-course model), and its staleness stays bounded by the same near TTL."""
        self.metrics.add_metric(CACHE_BYPASS, COUNT, 1)
        value = source.load()
        if entry is not None and adapter is not None and epoch >= 0:
            size = (len(adapter.dump_json(value)) if value is not None else 0) + NEAR_ENTRY_OVERHEAD
            self.near.put(entry.value_key, value, size, group=entry.near_group, epoch=epoch)
        return Cached(value, CacheOutcome.BYPASS)

    def _health_extra(self) -> dict[str, object]:
        stats = self.near.stats()
        return {
            "breaker": str(self.breaker.state),
            "near_entries": stats.entries,
            "near_bytes": stats.bytes,
        }
