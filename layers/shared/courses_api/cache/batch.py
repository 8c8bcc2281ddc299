"""Many items at a fixed number of round trips, with the item entry's read/fill/release.

Near cache first; then one pipelined round trip of plain GETs for the rest
(non-transactional: the keys live in different slots, and a cluster pipeline groups the
commands by node; never a cross-slot MGET); then, for the misses, one pipelined round
trip of :meth:`ItemEntry.read` (the lease script), one ``load_many``, and one pipelined
round trip of :meth:`ItemEntry.fill`. So the fills keep the no-stale-set guarantee of the
single-item path: a row loaded before an invalidation is refused, because the
invalidation deleted the lease; and with ``version``, a row read eventually consistently
that is older than its fence is read again strongly consistently before it is stored.

Differences from ``fetch_item``, to keep the batch at one load: an id whose lease another
reader holds is loaded with the rest rather than waited for (and not stored); hits are
served without XFetch's early refresh (the single-item path, most of the traffic,
refreshes the same entries). Redis failures are BYPASSes.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar, cast

from pydantic import TypeAdapter

from courses_api.cache import scripts
from courses_api.cache.api import FENCE_UNKNOWN, BatchLoader, Cached, CacheOutcome, fence_admits
from courses_api.cache.codec import CodecError
from courses_api.cache.entries import ItemEntry, Lease
from courses_api.cache.link import Bypassed, get_many
from courses_api.cache.metrics import CACHE_BYPASS, CACHE_HIT, CACHE_MISS, CACHE_NEAR_HIT, COUNT
from courses_api.cache.tier import NEAR_ENTRY_OVERHEAD, Tier

T = TypeVar("T")


@dataclass(slots=True)
class _Batch(Generic[T]):
    """State of one ``fetch_items`` call: what is served, and what each unserved id needs."""

    adapter: TypeAdapter[T]
    epoch: int
    entries: dict[str, ItemEntry] = field(default_factory=dict)
    found: dict[str, Cached[T | None]] = field(default_factory=dict)
    leases: dict[str, Lease] = field(default_factory=dict)  # load and fill
    waiting: list[str] = field(default_factory=list)  # another reader holds the lease: load only
    bypassed: list[str] = field(default_factory=list)  # Redis failed or undecodable: load only
    hits: int = 0  # counted here and sent as one metric value per batch
    near_hits: int = 0


class BatchFetch(Generic[T]):
    """One ``fetch_items`` call."""

    def __init__(
        self,
        tier: Tier,
        adapter: TypeAdapter[T],
        load_many: BatchLoader[T],
        version: Callable[[T], int] | None,
    ) -> None:
        self._tier = tier
        self._batch = _Batch[T](adapter, tier.near.epoch)
        self._load_many = load_many
        self._version = version

    def run(self, item_ids: Sequence[str], skip_near: bool) -> dict[str, Cached[T | None]]:
        try:
            return self._run(list(dict.fromkeys(item_ids)), skip_near)
        finally:
            metrics = self._tier.metrics
            if self._batch.hits:
                metrics.add_metric(CACHE_HIT, COUNT, self._batch.hits)
            if self._batch.near_hits:
                metrics.add_metric(CACHE_NEAR_HIT, COUNT, self._batch.near_hits)

    def _run(self, remaining: list[str], skip_near: bool) -> dict[str, Cached[T | None]]:
        batch, tier = self._batch, self._tier
        if not skip_near:
            remaining = [i for i in remaining if not self._near_hit(i)]
        if not remaining:
            return batch.found
        for item_id in remaining:
            batch.entries[item_id] = tier.item_entry(item_id)
        keys = [batch.entries[i].value_key for i in remaining]
        try:
            raws = tier.link.call(lambda client: get_many(client, keys))
        except Bypassed:
            batch.bypassed += remaining
            return self._load()
        missed: list[str] = []
        for item_id, raw in zip(remaining, raws, strict=True):
            if raw is None:
                missed.append(item_id)
            else:
                self._hit(item_id, raw)
        self._lease(missed)
        return self._load()

    def _near_hit(self, item_id: str) -> bool:
        hit, value = self._tier.near.get(self._tier.keys.item(item_id).value)
        if hit:
            self._batch.hits += 1
            self._batch.near_hits += 1
            self._batch.found[item_id] = Cached(cast("T | None", value), CacheOutcome.HIT)
        return hit

    def _hit(self, item_id: str, raw: bytes) -> None:
        """Serve a hit into the batch (and the near cache); an undecodable one is bypassed."""
        batch, tier = self._batch, self._tier
        entry = batch.entries[item_id]
        try:
            decoded = tier.codec.decode(raw, batch.adapter)
        except CodecError as exc:
            tier.link.count_error(f"undecodable cache entry {entry.value_key}: {exc}")
            batch.bypassed.append(item_id)
            return
        tier.near.put(entry.value_key, decoded.value, decoded.raw_size + NEAR_ENTRY_OVERHEAD, epoch=batch.epoch)
        batch.hits += 1
        batch.found[item_id] = Cached(decoded.value, CacheOutcome.HIT)

    def _lease(self, missed: Sequence[str]) -> None:
        """The lease script for every miss, in one pipeline: a hit filled meanwhile, a lease, or a wait."""
        if not missed:
            return
        batch, tier = self._batch, self._tier
        tokens = {item_id: os.urandom(8).hex() for item_id in missed}
        now_us = tier.now_us()
        calls = [batch.entries[i].read(tokens[i], tier.config, now_us) for i in missed]
        try:
            replies = tier.link.run_many(calls)
        except Bypassed:
            batch.bypassed += missed
            return
        for item_id, reply in zip(missed, replies, strict=True):
            result = batch.entries[item_id].parse_read(reply, tokens[item_id])
            if result.lease is not None:
                batch.leases[item_id] = result.lease
            elif result.status == scripts.WAIT:
                batch.waiting.append(item_id)
            else:
                self._hit(item_id, result.raw)

    def _load(self) -> dict[str, Cached[T | None]]:
        """One load for every id not served yet; fill the leased ones."""
        batch, tier = self._batch, self._tier
        to_load = [*batch.leases, *batch.waiting, *batch.bypassed]
        if not to_load:
            return batch.found
        started = tier.clock.monotonic()
        try:
            loaded = self._read(to_load)
        except BaseException:
            self._release()
            raise
        for item_id in batch.bypassed:
            batch.found[item_id] = Cached(loaded.get(item_id), CacheOutcome.BYPASS)
        for item_id in [*batch.leases, *batch.waiting]:
            batch.found[item_id] = Cached(loaded.get(item_id), CacheOutcome.MISS)
        if batch.bypassed:
            tier.metrics.add_metric(CACHE_BYPASS, COUNT, len(batch.bypassed))
        if batch.leases or batch.waiting:
            tier.metrics.add_metric(CACHE_MISS, COUNT, len(batch.leases) + len(batch.waiting))
        if batch.leases:
            self._fill(loaded, (tier.clock.monotonic() - started) * 1000 / len(batch.leases))
        return batch.found

    def _read(self, to_load: list[str]) -> dict[str, T]:
        """Without ``version``: strongly consistent if any row is to be stored (see BatchLoader).

        With it: eventually consistent, then strongly consistently (in one more load) the
        leased rows older than their fence, and those whose fence trusts no eventual read
        (an absent row is refused under a version fence too).
        """
        leases = self._batch.leases
        if self._version is None:
            return dict(self._load_many(to_load, consistent=bool(leases)))
        untrusted = {i for i, lease in leases.items() if lease.fence == FENCE_UNKNOWN}
        eventual = [i for i in to_load if i not in untrusted]
        loaded = dict(self._load_many(eventual, consistent=False)) if eventual else {}
        version = self._version
        refused = [i for i, lease in leases.items()
                   if i in untrusted or not fence_admits(lease.fence, loaded.get(i), version)]
        if refused:
            again = self._load_many(refused, consistent=True)
            for item_id in refused:
                loaded.pop(item_id, None)
                if item_id in again:
                    loaded[item_id] = again[item_id]
        return loaded

    def _fill(self, loaded: dict[str, T], delta_ms: float) -> None:
        """Store the loaded rows (absent ones as negative entries) where the lease still holds."""
        batch, tier = self._batch, self._tier
        now_ms = int(tier.clock.time() * 1000)
        ids = list(batch.leases)
        values = [loaded.get(item_id) for item_id in ids]
        ttls = [tier.config.jittered_ms(batch.entries[i].ttl_s(v)) for i, v in zip(ids, values, strict=True)]
        encoded = [
            tier.codec.encode(v, batch.adapter, delta_ms, now_ms + ttl) for v, ttl in zip(values, ttls, strict=True)
        ]
        calls = [
            batch.entries[i].fill(batch.leases[i], data.data, ttl, tier.config)
            for i, data, ttl in zip(ids, encoded, ttls, strict=True)
        ]
        try:
            stored = tier.link.run_many(calls)
        except Bypassed:
            return
        for item_id, value, data, accepted in zip(ids, values, encoded, stored, strict=True):
            if accepted == 1:
                # As in the single path: only a value Redis accepted may enter the near cache.
                key = batch.entries[item_id].value_key
                tier.near.put(key, value, data.raw_size + NEAR_ENTRY_OVERHEAD, epoch=batch.epoch)

    def _release(self) -> None:
        batch = self._batch
        if not batch.leases:
            return
        calls = [batch.entries[i].release(lease) for i, lease in batch.leases.items()]
        with contextlib.suppress(Bypassed):
            self._tier.link.run_many(calls)
