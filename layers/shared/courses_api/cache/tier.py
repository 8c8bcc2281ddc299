"""The parts every cache operation shares: Redis link, near cache, codec, keys, config, clock."""

from __future__ import annotations

from dataclasses import dataclass

from courses_api.cache.api import ListNamespace
from courses_api.cache.codec import Codec
from courses_api.cache.config import CacheConfig, Clock
from courses_api.cache.entries import ItemEntry, PageEntry
from courses_api.cache.keys import KeySpace
from courses_api.cache.link import RedisLink
from courses_api.cache.metrics import MetricsSink
from courses_api.cache.near import NearCache

NEAR_ENTRY_OVERHEAD = 64  # bytes charged per near entry on top of its serialised size


@dataclass(frozen=True, slots=True)
class Tier:
    """Built once per manager; the single-key and the batch paths both read through it."""

    link: RedisLink
    near: NearCache
    codec: Codec
    keys: KeySpace
    config: CacheConfig
    clock: Clock
    metrics: MetricsSink

    def item_entry(self, item_id: str) -> ItemEntry:
        return ItemEntry(self.keys.item(item_id), self.config.item_ttl_s, self.config.negative_ttl_s)

    def page_entry(self, namespace: ListNamespace, page_key: str) -> PageEntry:
        return PageEntry(self.keys.page(namespace, page_key), self.config.list_ttl_s)

    def now_us(self) -> int:
        """Wall-clock microseconds: the seed of a missing generation counter."""
        return int(self.clock.time() * 1_000_000)
