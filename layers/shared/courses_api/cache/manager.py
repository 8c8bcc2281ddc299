"""``RedisCacheManager``: near cache + Redis, leases, generations, breaker, metrics.

Read path of one key (item or list page):

1. near cache (unless ``skip_near``): a hit costs no network hop;
2. one plain ``GET`` of the value (a page: one ``MGET`` of its generation and itself, one
   slot), no script: reads never write, and only the guarded fills below ever store a
   value, so whatever the GET finds is what the lease script would have returned. This
   is the common case and costs what a bare GET costs;
3. on a miss, one Lua round trip that either returns a value filled meanwhile, or grants
   this reader a lease, or says another reader holds it (then poll briefly, then load
   without the cache);
4. on a lease: call the loader, and store the result with a second script that only
   writes if the lease (and, for lists, the generation) is still current — an
   invalidation in between wins, so no stale set;
5. a hit whose remaining time (from the expiry the filler stored in the value, see
   ``codec``) is within XFetch's probabilistic window takes a refresh lease, valid only
   while the entry is still the one it saw, and reloads before expiry.

Any Redis failure (timeout, refused connection, cluster error) is a BYPASS: the loader
answers, ``CacheError``/``CacheBypass`` are counted and the circuit breaker decides when
to try Redis again. Nothing here raises because of Redis.

Push invalidation of the near cache (Redis ``CLIENT TRACKING``) was evaluated and not
built. It would be sound on a single node: a dedicated RESP3 connection with ``BCAST
PREFIX <prefix>:v<schema>:`` (every write under our prefix, whoever read it), drained with
a non-blocking read at the start of each request, mapping ``item``/``gen`` keys to near
keys/groups, bumping the near epoch so a racing put loses, and flushing the whole near
cache whenever that connection is new, lost or sees a null (FLUSHALL) message. Measured
here (loopback): a drain with nothing pending costs ~2 us; a write's invalidation reaches
the other container in ~0.15 ms p50, against a near-cache staleness of ~0.6 s p50 / up to
the 1 s TTL without it (``make bench-cache``). But we deploy on ElastiCache Serverless,
which is cluster-mode only behind a proxy, and there it is not available: it answers
``CLIENT TRACKING`` with ``ERR unknown subcommand 'tracking'`` (reported in
redis/rueidis#612 for ElastiCache Redis OSS 7.1, and in another client's design notes
for Serverless specifically; the AWS list of commands Serverless supports, as far as we
could read it, does not name it). On a self-managed cluster it would also need one
tracking connection per primary, re-armed on every failover and resharding, which
redis-py's ``RedisCluster`` does not do. So the near cache stays TTL-bounded (default
1 s) and owner/admin reads skip it; if we ever run on a single-node Redis, the design
above is the one to build behind a setting.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

from pydantic import TypeAdapter

from courses_api.cache import scripts
from courses_api.cache.api import BatchLoader, Cached, CacheOutcome, DependencyStatus, ListNamespace
from courses_api.cache.breaker import BreakerState, CircuitBreaker
from courses_api.cache.codec import Codec, CodecError, Decoded
from courses_api.cache.keys import KeySpace
from courses_api.cache.metrics import (
    BREAKER_OPEN,
    CACHE_BYPASS,
    CACHE_EARLY_REFRESH,
    CACHE_ERROR,
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


@cache
def redis_errors() -> tuple[type[BaseException], ...]:
    """What a failed Redis call raises. redis-py loads with the client, not with this module."""
    from redis.exceptions import RedisClusterException, RedisError

    return (RedisError, RedisClusterException, OSError)


NEAR_ENTRY_OVERHEAD = 64  # bytes charged per near entry on top of its serialised size
GENERATION_TTL_MS = 24 * 3600 * 1000  # > any page TTL; refreshed by fills and invalidations
MAX_PENDING = 10_000


class WarningLogger(Protocol):
    """What the manager needs from a logger (stdlib or Powertools)."""

    def warning(self, msg: object, *args: object, extra: Mapping[str, object] | None = None) -> None: ...


def _default_logger() -> WarningLogger:
    try:
        from aws_lambda_powertools import Logger

        return Logger(child=True)
    except ImportError:  # pragma: no cover - powertools is a layer dependency
        return logging.getLogger(__name__)


class _Bypassed(Exception):
    """Redis was skipped (breaker open) or failed; the caller serves from the loader."""


@dataclass(frozen=True, slots=True)
class _Script:
    source: str
    sha: str

    @classmethod
    def of(cls, source: str) -> _Script:
        return cls(source, hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest())


_READ_ITEM = _Script.of(scripts.READ_ITEM)
_FILL_ITEM = _Script.of(scripts.FILL_ITEM)
_READ_PAGE = _Script.of(scripts.READ_PAGE)
_FILL_PAGE = _Script.of(scripts.FILL_PAGE)
_RELEASE = _Script.of(scripts.RELEASE)
_REFRESH = _Script.of(scripts.REFRESH)


@dataclass(frozen=True, slots=True)
class _Target:
    """One cache entry: its Redis keys and how to read and fill it."""

    value_key: str
    lease_key: str
    generation_key: str  # "" for items
    near_group: str
    ttl_s: float
    negative_ttl_s: float

    @property
    def is_page(self) -> bool:
        return bool(self.generation_key)

    @property
    def keys(self) -> list[str]:
        if self.is_page:
            return [self.generation_key, self.value_key, self.lease_key]
        return [self.value_key, self.lease_key]


@dataclass(frozen=True, slots=True)
class _ReadResult:
    status: int
    raw: bytes = b""
    generation: str = ""


@dataclass(slots=True)
class _Batch(Generic[T]):
    """State of one ``fetch_items`` call: what is served, and what each unserved id needs."""

    adapter: TypeAdapter[T]
    epoch: int
    targets: dict[str, _Target] = field(default_factory=dict)
    found: dict[str, Cached[T | None]] = field(default_factory=dict)
    leases: dict[str, str] = field(default_factory=dict)  # id -> lease token: load and fill
    waiting: list[str] = field(default_factory=list)  # another reader holds the lease: load only
    bypassed: list[str] = field(default_factory=list)  # Redis failed or undecodable: load only
    hits: int = 0  # counted here and sent as one metric value per batch
    near_hits: int = 0


class RedisCacheManager:
    """Two-tier read-through cache implementing :class:`~courses_api.cache.api.ReadThroughCache`."""

    def __init__(
        self,
        client: RedisClient | Callable[[], RedisClient],
        metrics: MetricsSink,
        *,
        keys: KeySpace | None = None,
        item_ttl_s: float = 300,
        list_ttl_s: float = 60,
        negative_ttl_s: float = 15,
        near: NearCache | None = None,
        breaker: CircuitBreaker | None = None,
        codec: Codec | None = None,
        ttl_jitter: float = 0.1,
        lease_ttl_ms: int = 2000,
        lease_wait_s: float = 0.25,
        lease_poll_s: float = 0.002,
        early_refresh_beta: float = 1.0,
        rng: Callable[[], float] = random.random,
        logger: WarningLogger | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        """``client`` may be a factory, called lazily (and under the breaker) on first use,
        because ``RedisCluster`` connects in its constructor and Redis may be down then."""
        if callable(client) and not hasattr(client, "evalsha"):
            self._client: RedisClient | None = None
            self._client_factory: Callable[[], RedisClient] | None = client
        else:
            self._client = cast("RedisClient", client)
            self._client_factory = None
        self._client_lock = threading.Lock()
        self.metrics = metrics
        self.keys = keys or KeySpace()
        self.item_ttl_s = item_ttl_s
        self.list_ttl_s = list_ttl_s
        self.negative_ttl_s = negative_ttl_s
        self.near = near or NearCache(ttl_s=1.0, max_entries=1024, max_bytes=8 * 1024 * 1024)
        self.logger: WarningLogger = logger or _default_logger()
        self.breaker = breaker or CircuitBreaker()
        self.breaker.on_change = self._on_breaker_change
        self.codec = codec or Codec()
        self.ttl_jitter = ttl_jitter
        self.lease_ttl_ms = lease_ttl_ms
        self.lease_wait_s = lease_wait_s
        self.lease_poll_s = lease_poll_s
        self.early_refresh_beta = early_refresh_beta
        self._rng = rng
        self._clock = clock
        self._sleep = sleep
        self._wall_clock = wall_clock  # entry expiries are stored as wall-clock times
        self._pending_lock = threading.Lock()
        self._pending_items: dict[str, None] = {}
        self._pending_namespaces: dict[ListNamespace, None] = {}

    # ------------------------------------------------------------------ public API

    def fetch_item(
        self,
        item_id: str,
        load: Callable[[], T | None],
        adapter: TypeAdapter[T],
        *,
        skip_near: bool = False,
    ) -> Cached[T | None]:
        """Item by id; a ``None`` from the loader is cached for ``negative_ttl_s``."""
        return self._fetch(self._target_for_item(item_id), load, adapter, skip_near)

    def fetch_items(
        self,
        item_ids: Sequence[str],
        load_many: BatchLoader[T],
        adapter: TypeAdapter[T],
        *,
        skip_near: bool = False,
    ) -> dict[str, Cached[T | None]]:
        """Many items, as ``fetch_item`` would serve each, at a fixed number of round trips.

        Near cache first; then one pipelined round trip of plain GETs for the rest
        (non-transactional: the keys live in different slots, and a cluster pipeline
        groups the commands by node; never a cross-slot MGET); then, for the misses, one
        pipelined round trip of the lease script, one ``load_many`` (strongly consistent
        while this reader holds leases), and one pipelined round trip of the guarded fill.
        So the fills keep the no-stale-set guarantee of the single-item path: a row loaded
        before an invalidation is refused, because the invalidation deleted the lease.

        Differences from ``fetch_item``, to keep the batch at one load: an id whose lease
        another reader holds is loaded with the rest rather than waited for (and not
        stored); hits are served without XFetch's early refresh (the single-item path,
        most of the traffic, refreshes the same entries). Redis failures are BYPASSes.
        """
        batch = _Batch[T](adapter, self.near.epoch)
        try:
            return self._fetch_batch(batch, list(dict.fromkeys(item_ids)), load_many, skip_near)
        finally:
            if batch.hits:
                self.metrics.add_metric(CACHE_HIT, COUNT, batch.hits)
            if batch.near_hits:
                self.metrics.add_metric(CACHE_NEAR_HIT, COUNT, batch.near_hits)

    def _fetch_batch(
        self, batch: _Batch[T], remaining: list[str], load_many: BatchLoader[T], skip_near: bool
    ) -> dict[str, Cached[T | None]]:
        if not skip_near:
            remaining = [i for i in remaining if not self._near_hit(batch, i)]
        if not remaining:
            return batch.found
        for item_id in remaining:
            batch.targets[item_id] = self._target_for_item(item_id)
        try:
            raws = self._call(lambda client: self._peek_items(client, [batch.targets[i].value_key for i in remaining]))
        except _Bypassed:
            batch.bypassed += remaining
            return self._load_batch(batch, load_many)
        missed: list[str] = []
        for item_id, raw in zip(remaining, raws, strict=True):
            if raw is None:
                missed.append(item_id)
            else:
                self._batch_hit(batch, item_id, raw)
        self._lease_batch(batch, missed)
        return self._load_batch(batch, load_many)

    def _near_hit(self, batch: _Batch[T], item_id: str) -> bool:
        hit, value = self.near.get(self.keys.item(item_id).value)
        if hit:
            batch.hits += 1
            batch.near_hits += 1
            batch.found[item_id] = Cached(cast("T | None", value), CacheOutcome.HIT)
        return hit

    def _batch_hit(self, batch: _Batch[T], item_id: str, raw: bytes) -> bool:
        """Serve a hit into the batch (and the near cache); an undecodable one is bypassed."""
        target = batch.targets[item_id]
        try:
            decoded = self.codec.decode(raw, batch.adapter)
        except CodecError as exc:
            self._count_error(f"undecodable cache entry {target.value_key}: {exc}")
            batch.bypassed.append(item_id)
            return False
        self.near.put(target.value_key, decoded.value, decoded.raw_size + NEAR_ENTRY_OVERHEAD, epoch=batch.epoch)
        batch.hits += 1
        batch.found[item_id] = Cached(decoded.value, CacheOutcome.HIT)
        return True

    def _lease_batch(self, batch: _Batch[T], missed: Sequence[str]) -> None:
        """The lease script for every miss, in one pipeline: a hit filled meanwhile, a lease, or a wait."""
        if not missed:
            return
        tokens = {item_id: os.urandom(8).hex() for item_id in missed}
        calls = [(batch.targets[i].keys, [tokens[i], self.lease_ttl_ms]) for i in missed]
        try:
            replies = self._call(lambda client: self._eval_many(client, _READ_ITEM, calls))
        except _Bypassed:
            batch.bypassed += missed
            return
        for item_id, reply in zip(missed, replies, strict=True):
            status = int(reply[0])
            if status == scripts.LEASE:
                batch.leases[item_id] = tokens[item_id]
            elif status == scripts.WAIT:
                batch.waiting.append(item_id)
            else:
                self._batch_hit(batch, item_id, reply[1])

    def _load_batch(self, batch: _Batch[T], load_many: BatchLoader[T]) -> dict[str, Cached[T | None]]:
        """One load for every id not served yet; fill the leased ones."""
        to_load = [*batch.leases, *batch.waiting, *batch.bypassed]
        if not to_load:
            return batch.found
        started = self._clock()
        try:
            # Strongly consistent if any row is to be stored (see BatchLoader).
            loaded = load_many(to_load, consistent=bool(batch.leases))
        except BaseException:
            self._release_many(batch)
            raise
        for item_id in batch.bypassed:
            batch.found[item_id] = Cached(loaded.get(item_id), CacheOutcome.BYPASS)
        for item_id in [*batch.leases, *batch.waiting]:
            batch.found[item_id] = Cached(loaded.get(item_id), CacheOutcome.MISS)
        if batch.bypassed:
            self.metrics.add_metric(CACHE_BYPASS, COUNT, len(batch.bypassed))
        if batch.leases or batch.waiting:
            self.metrics.add_metric(CACHE_MISS, COUNT, len(batch.leases) + len(batch.waiting))
        if batch.leases:
            self._fill_many(batch, loaded, (self._clock() - started) * 1000 / len(batch.leases))
        return batch.found

    def _fill_many(self, batch: _Batch[T], loaded: Mapping[str, T], delta_ms: float) -> None:
        """Store the loaded rows (absent ones as negative entries) where the lease still holds."""
        now_ms = int(self._wall_clock() * 1000)
        ids = list(batch.leases)
        values = [loaded.get(item_id) for item_id in ids]
        ttls = [
            self._jittered_ms(batch.targets[i].negative_ttl_s if v is None else batch.targets[i].ttl_s)
            for i, v in zip(ids, values, strict=True)
        ]
        encoded = [
            self.codec.encode(v, batch.adapter, delta_ms, now_ms + ttl) for v, ttl in zip(values, ttls, strict=True)
        ]
        calls = [
            (batch.targets[i].keys, [batch.leases[i], data.data, ttl])
            for i, data, ttl in zip(ids, encoded, ttls, strict=True)
        ]
        try:
            stored = self._call(lambda client: self._eval_many(client, _FILL_ITEM, calls))
        except _Bypassed:
            return
        for item_id, value, data, accepted in zip(ids, values, encoded, stored, strict=True):
            if accepted == 1:
                # As in the single path: only a value Redis accepted may enter the near cache.
                key = batch.targets[item_id].value_key
                self.near.put(key, value, data.raw_size + NEAR_ENTRY_OVERHEAD, epoch=batch.epoch)

    def _release_many(self, batch: _Batch[T]) -> None:
        if not batch.leases:
            return
        calls = [([batch.targets[i].lease_key], [token]) for i, token in batch.leases.items()]
        with contextlib.suppress(_Bypassed):
            self._call(lambda client: self._eval_many(client, _RELEASE, calls))

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
        page = self.keys.page(namespace, page_key)
        target = _Target(page.value, page.lease, page.generation, page.group, self.list_ttl_s, self.list_ttl_s)
        return cast(Cached[T], self._fetch(target, load, adapter, skip_near))

    def _target_for_item(self, item_id: str) -> _Target:
        item = self.keys.item(item_id)
        return _Target(item.value, item.lease, "", "", self.item_ttl_s, self.negative_ttl_s)

    def invalidate(self, item_ids: Iterable[str], namespaces: Iterable[ListNamespace]) -> None:
        """Drop items (value, negative entry and lease, in both tiers of this container)
        and bump each namespace's generation, so every page of those lists is a miss.

        Never raises. When Redis is unreachable or the breaker is open, the near cache is
        still cleared and the Redis part is queued and replayed by this container's next
        successful Redis call; the DynamoDB-stream invalidator is the backstop for a
        container that dies first, and the entry TTLs bound any staleness beyond that.
        """
        ids = list(dict.fromkeys(item_ids))
        spaces = list(dict.fromkeys(namespaces))
        if not ids and not spaces:
            return
        self.near.invalidate(
            [self.keys.item(i).value for i in ids],
            [self.keys.page(ns, "").group for ns in spaces],
        )
        try:
            self._call(lambda client: self._invalidate_remote(client, ids, spaces))
        except _Bypassed:
            self._defer(ids, spaces)

    def health(self) -> DependencyStatus:
        """PING Redis through the breaker (bounded by the client timeouts); never raises."""
        started = self._clock()
        try:
            self._call(lambda client: client.ping())
        except _Bypassed:
            detail = "circuit breaker open" if self.breaker.state is not BreakerState.CLOSED else "unreachable"
            return DependencyStatus("degraded", f"redis {detail}; reads bypass the cache", self._health_extra())
        extra = self._health_extra()
        extra["latency_ms"] = round((self._clock() - started) * 1000, 3)
        return DependencyStatus("ok", "", extra)

    def clear_near(self) -> None:
        """Empty this container's near cache (benchmarks, tests)."""
        self.near.clear()

    # ------------------------------------------------------------------ read path

    def _fetch(
        self, target: _Target, load: Callable[[], T | None], adapter: TypeAdapter[T], skip_near: bool
    ) -> Cached[T | None]:
        epoch = self.near.epoch
        if not skip_near:
            found, value = self.near.get(target.value_key)
            if found:
                self.metrics.add_metric(CACHE_HIT, COUNT, 1)
                self.metrics.add_metric(CACHE_NEAR_HIT, COUNT, 1)
                return Cached(cast("T | None", value), CacheOutcome.HIT)
        # The common case, a hit, costs one plain GET (or one MGET for a page): reads never
        # write, so they need no script; only a miss runs the lease protocol below.
        try:
            result = self._call(lambda client: self._peek(client, target))
        except _Bypassed:
            return self._bypass(load)
        if result is not None:
            return self._serve_hit(target, result, load, adapter, epoch)
        return self._fetch_missed(target, load, adapter, epoch)

    def _fetch_missed(
        self, target: _Target, load: Callable[[], T | None], adapter: TypeAdapter[T], epoch: int
    ) -> Cached[T | None]:
        """The lease protocol: a hit filled meanwhile, or a lease to load and fill, or a wait."""
        token = os.urandom(8).hex()
        deadline = 0.0
        poll = self.lease_poll_s
        while True:
            try:
                result = self._call(lambda client: self._read(client, target, token))
            except _Bypassed:
                return self._bypass(load)
            if result.status == scripts.HIT:
                return self._serve_hit(target, result, load, adapter, epoch)
            if result.status == scripts.LEASE:
                return self._load_and_fill(target, token, result.generation, load=load, adapter=adapter, epoch=epoch)
            # Someone else holds the lease: poll briefly for their fill, then give up waiting.
            now = self._clock()
            if not deadline:
                deadline = now + self.lease_wait_s
                self.metrics.add_metric(CACHE_LEASE_WAIT, COUNT, 1)
            elif now >= deadline:
                self.metrics.add_metric(CACHE_MISS, COUNT, 1)
                return Cached(load(), CacheOutcome.MISS)
            self._sleep(min(poll, max(deadline - now, 0.0)))
            poll = min(poll * 2, 0.02)

    def _serve_hit(
        self,
        target: _Target,
        result: _ReadResult,
        load: Callable[[], T | None],
        adapter: TypeAdapter[T],
        epoch: int,
    ) -> Cached[T | None]:
        try:
            decoded = self.codec.decode(result.raw, adapter)
        except CodecError as exc:
            self._count_error(f"undecodable cache entry {target.value_key}: {exc}")
            return self._bypass(load)
        if self._should_refresh(decoded):
            token = self._take_refresh_lease(target, decoded, result.generation)
            if token:
                self.metrics.add_metric(CACHE_EARLY_REFRESH, COUNT, 1)
                return self._load_and_fill(target, token, result.generation, load=load, adapter=adapter, epoch=epoch)
        self.near.put(
            target.value_key,
            decoded.value,
            decoded.raw_size + NEAR_ENTRY_OVERHEAD,
            group=target.near_group,
            epoch=epoch,
        )
        self.metrics.add_metric(CACHE_HIT, COUNT, 1)
        return Cached(decoded.value, CacheOutcome.HIT)

    def _peek(self, client: RedisClient, target: _Target) -> _ReadResult | None:
        """A hit with no script, or ``None`` (a miss, or a page of an older generation).

        Values are only ever written by the guarded fill scripts, so whatever a GET finds
        is exactly what the read script would have returned. A page is a hit only under
        the current generation; both keys share a hash tag, so one MGET reads them
        atomically on a single slot, in cluster mode too.
        """
        if target.is_page:
            generation, raw = cast("list[bytes | None]", client.mget([target.generation_key, target.value_key]))
            if generation is None or raw is None:
                return None
            prefix = generation + b":"
            if not raw.startswith(prefix):
                return None
            return _ReadResult(scripts.HIT, raw[len(prefix) :], generation=generation.decode())
        value = cast("bytes | None", client.get(target.value_key))
        return None if value is None else _ReadResult(scripts.HIT, value)

    def _read(self, client: RedisClient, target: _Target, token: str) -> _ReadResult:
        if target.is_page:
            seed = str(time.time_ns() // 1000)
            reply = self._eval(client, _READ_PAGE, target.keys, [token, self.lease_ttl_ms, seed, GENERATION_TTL_MS])
            status = int(reply[0])
            if status == scripts.HIT:
                return _ReadResult(status, reply[1], _text(reply[2]))
            return _ReadResult(status, generation=_text(reply[1]))
        reply = self._eval(client, _READ_ITEM, target.keys, [token, self.lease_ttl_ms])
        status = int(reply[0])
        if status == scripts.HIT:
            return _ReadResult(status, reply[1])
        return _ReadResult(status)

    def _should_refresh(self, decoded: Decoded[Any]) -> bool:
        """XFetch: refresh with probability rising as expiry nears, scaled by recompute time.

        The time left comes from the expiry the filler stored in the value (wall clock),
        not from a PTTL round trip; hosts' clocks are NTP-synced to well under the
        milliseconds-to-seconds XFetch window, and skew only moves the refresh a little.
        """
        if self.early_refresh_beta <= 0 or decoded.delta_ms <= 0 or decoded.expires_at_ms <= 0:
            return False
        remaining_ms = decoded.expires_at_ms - self._wall_clock() * 1000
        gap = -decoded.delta_ms * self.early_refresh_beta * math.log(max(self._rng(), 1e-12))
        return gap >= remaining_ms

    def _take_refresh_lease(self, target: _Target, decoded: Decoded[Any], generation: str) -> str:
        """A lease token for an early refresh of the entry this reader saw, or ``""``."""
        token = os.urandom(8).hex()
        lease = f"{generation}:{token}" if target.is_page else token
        seen = f"{generation}:".encode() + decoded.stamp if target.is_page else decoded.stamp
        try:
            taken = self._call(
                lambda client: self._eval(
                    client, _REFRESH, [target.value_key, target.lease_key], [lease, self.lease_ttl_ms, seen]
                )
            )
        except _Bypassed:
            return ""
        return token if taken else ""

    def _load_and_fill(
        self,
        target: _Target,
        token: str,
        generation: str,
        *,
        load: Callable[[], T | None],
        adapter: TypeAdapter[T],
        epoch: int,
    ) -> Cached[T | None]:
        started = self._clock()
        try:
            value = load()
        except BaseException:
            self._release(target, token, generation)
            raise
        self.metrics.add_metric(CACHE_MISS, COUNT, 1)
        ttl_ms = self._jittered_ms(target.negative_ttl_s if value is None else target.ttl_s)
        expires_at_ms = int(self._wall_clock() * 1000) + ttl_ms
        encoded = self.codec.encode(value, adapter, (self._clock() - started) * 1000, expires_at_ms)
        try:
            if target.is_page:
                stored = self._call(
                    lambda client: self._eval(
                        client,
                        _FILL_PAGE,
                        target.keys,
                        [token, generation, encoded.data, ttl_ms, GENERATION_TTL_MS],
                    )
                )
            else:
                stored = self._call(
                    lambda client: self._eval(client, _FILL_ITEM, target.keys, [token, encoded.data, ttl_ms])
                )
        except _Bypassed:
            stored = 0
        if stored == 1:
            # Only a value Redis accepted may enter the near cache: a rejected fill means an
            # invalidation happened during the load, so the value may be stale.
            self.near.put(
                target.value_key,
                value,
                encoded.raw_size + NEAR_ENTRY_OVERHEAD,
                group=target.near_group,
                epoch=epoch,
            )
        return Cached(value, CacheOutcome.MISS)

    def _release(self, target: _Target, token: str, generation: str) -> None:
        lease = f"{generation}:{token}" if target.is_page else token
        with contextlib.suppress(_Bypassed):
            self._call(lambda client: self._eval(client, _RELEASE, [target.lease_key], [lease]))

    def _bypass(self, load: Callable[[], T | None]) -> Cached[T | None]:
        self.metrics.add_metric(CACHE_BYPASS, COUNT, 1)
        return Cached(load(), CacheOutcome.BYPASS)

    def _jittered_ms(self, ttl_s: float) -> int:
        """TTL shortened by up to ``ttl_jitter`` so entries filled together expire apart."""
        return max(1, int(ttl_s * 1000 * (1 - self.ttl_jitter * self._rng())))

    # ------------------------------------------------------------------ invalidation

    def _invalidate_remote(self, client: RedisClient, ids: Sequence[str], spaces: Sequence[ListNamespace]) -> None:
        with self._pending_lock:
            ids = list(dict.fromkeys([*self._pending_items, *ids]))
            spaces = list(dict.fromkeys([*self._pending_namespaces, *spaces]))
        pipe = client.pipeline(transaction=False)
        for item_id in ids:
            item = self.keys.item(item_id)
            # One key per DEL: cluster pipelines refuse multi-key commands. Every lease that
            # exists before this point is deleted, and any lease taken after it belongs to a
            # reader that loads after the write committed, so the order cannot cause a stale set.
            pipe.delete(item.lease)
            pipe.delete(item.value)
        seed = str(time.time_ns() // 1000)
        for namespace in spaces:
            generation = self.keys.generation(namespace)
            pipe.set(generation, seed, nx=True, px=GENERATION_TTL_MS)
            pipe.incr(generation)
            pipe.pexpire(generation, GENERATION_TTL_MS)
        pipe.execute()
        with self._pending_lock:
            for item_id in ids:
                self._pending_items.pop(item_id, None)
            for namespace in spaces:
                self._pending_namespaces.pop(namespace, None)

    def _defer(self, ids: Sequence[str], spaces: Sequence[ListNamespace]) -> None:
        with self._pending_lock:
            self._pending_items.update(dict.fromkeys(ids))
            self._pending_namespaces.update(dict.fromkeys(spaces))
            dropped = 0
            while len(self._pending_items) > MAX_PENDING:
                self._pending_items.pop(next(iter(self._pending_items)))
                dropped += 1
            pending = len(self._pending_items) + len(self._pending_namespaces)
        self.logger.warning(
            "cache invalidation deferred: redis unavailable; the stream invalidator is the backstop",
            extra={
                "item_ids": list(ids)[:20],
                "namespaces": [f"{n.kind}:{n.partition}" for n in spaces][:20],
                "pending": pending,
                "dropped": dropped,
            },
        )

    def _has_pending(self) -> bool:
        return bool(self._pending_items or self._pending_namespaces)

    # ------------------------------------------------------------------ redis plumbing

    def _call(self, operation: Callable[[RedisClient], T]) -> T:
        """Run ``operation`` through the breaker; any Redis failure becomes ``_Bypassed``."""
        if not self.breaker.allow():
            raise _Bypassed
        try:
            client = self._get_client()
            if self._has_pending():
                self._invalidate_remote(client, [], [])
            result = operation(client)
        except redis_errors() as exc:
            self.breaker.record_failure(f"{type(exc).__name__}: {exc}")
            self._count_error(f"redis call failed: {type(exc).__name__}: {exc}", log=False)
            raise _Bypassed from exc
        self.breaker.record_success()
        return result

    def _get_client(self) -> RedisClient:
        if self._client is not None:
            return self._client
        with self._client_lock:
            if self._client is None:
                assert self._client_factory is not None
                self._client = self._client_factory()
            return self._client

    @staticmethod
    def _peek_items(client: RedisClient, keys: Sequence[str]) -> list[bytes | None]:
        """Plain GETs of many item keys in one round trip (each key in its own slot)."""
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.get(key)
        return cast("list[bytes | None]", pipe.execute())

    @staticmethod
    def _eval_many(client: RedisClient, script: _Script, calls: Sequence[tuple[list[str], list[Any]]]) -> list[Any]:
        """One script over many key sets in one non-transactional pipeline.

        EVAL, not EVALSHA: redis-py refuses EVALSHA in a cluster pipeline, and a NOSCRIPT
        reply in the middle of a pipeline would need a second round trip; the scripts are a
        few hundred bytes, and Redis compiles each body once and caches it. Sent with
        ``execute_command`` because ``ClusterPipeline.eval`` is not the EVAL command; the
        cluster client routes EVAL by its keys (one hash tag per call).
        """
        pipe = client.pipeline(transaction=False)
        for keys, args in calls:
            pipe.execute_command("EVAL", script.source, len(keys), *keys, *args)
        return list(pipe.execute())

    def _eval(self, client: RedisClient, script: _Script, keys: list[str], args: list[Any]) -> Any:
        from redis.exceptions import NoScriptError  # loaded with the client already

        try:
            return client.evalsha(script.sha, len(keys), *keys, *args)
        except NoScriptError:
            # EVAL routes by key like EVALSHA and caches the script on that node.
            return client.eval(script.source, len(keys), *keys, *args)

    def _count_error(self, message: str, *, log: bool = True) -> None:
        self.metrics.add_metric(CACHE_ERROR, COUNT, 1)
        if log:
            self.logger.warning(message)

    def _on_breaker_change(self, old: BreakerState, new: BreakerState, reason: str) -> None:
        if new is BreakerState.OPEN:
            self.metrics.add_metric(BREAKER_OPEN, COUNT, 1)
        self.logger.warning(
            "cache circuit breaker state changed",
            extra={
                "breaker_from": str(old),
                "breaker_to": str(new),
                "reason": reason[:200],
                "cooldown_s": self.breaker.cooldown_s,
            },
        )

    def _health_extra(self) -> dict[str, object]:
        stats = self.near.stats()
        return {
            "breaker": str(self.breaker.state),
            "near_entries": stats.entries,
            "near_bytes": stats.bytes,
            "pending_invalidations": len(self._pending_items) + len(self._pending_namespaces),
        }


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
