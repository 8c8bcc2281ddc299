"""Invalidations on their way to Redis, and the queue of those Redis did not take.

:meth:`PendingInvalidations.send` delivers new invalidations together with every queued
one, in one pipeline; when Redis fails they stay queued and are sent again by the next
explicit :meth:`~PendingInvalidations.flush` (the manager flushes on its next
invalidation and on its health check; reads never do). A container that dies with a
non-empty queue leaves the work to the DynamoDB-stream invalidator, and the entry TTLs
bound any staleness beyond that.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from courses_api.cache import scripts
from courses_api.cache.api import ListNamespace, merge_fences
from courses_api.cache.config import CacheConfig
from courses_api.cache.keys import KeySpace
from courses_api.cache.link import Script

if TYPE_CHECKING:
    from courses_api.cache.client import RedisClient

INVALIDATE_ITEM = Script.of(scripts.INVALIDATE_ITEM)
INVALIDATE_NAMESPACE = Script.of(scripts.INVALIDATE_NAMESPACE)
MAX_PENDING = 10_000


class PendingInvalidations:
    """Thread-safe queue of item fences and namespaces not yet delivered to Redis."""

    def __init__(
        self, keys: KeySpace, config: CacheConfig, now_us: Callable[[], int], max_items: int = MAX_PENDING
    ) -> None:
        self._keys = keys
        self._config = config
        self._now_us = now_us  # seeds a missing generation counter (see scripts)
        self._max_items = max_items
        self._lock = threading.Lock()
        self._items: dict[str, str] = {}  # item id -> fence
        self._namespaces: dict[ListNamespace, None] = {}

    def __len__(self) -> int:
        return len(self._items) + len(self._namespaces)

    def add(self, items: Mapping[str, str], namespaces: Sequence[ListNamespace]) -> int:
        """Queue invalidations; returns how many old items were dropped to respect the bound."""
        with self._lock:
            for item_id, fence in items.items():
                old = self._items.pop(item_id, None)
                self._items[item_id] = fence if old is None else merge_fences(old, fence)
            self._namespaces.update(dict.fromkeys(namespaces))
            dropped = 0
            while len(self._items) > self._max_items:
                self._items.pop(next(iter(self._items)))
                dropped += 1
            return dropped

    def send(self, client: RedisClient, items: Mapping[str, str], namespaces: Sequence[ListNamespace]) -> None:
        """Deliver ``items`` and ``namespaces`` with everything queued, in one pipeline.

        Raises what the client raises; then nothing is removed from the queue (the caller
        queues the new invalidations with :meth:`add`).
        """
        with self._lock:
            queued = dict(self._items)
            spaces = list(dict.fromkeys([*self._namespaces, *namespaces]))
        batch = dict(queued)
        for item_id, fence in items.items():
            batch[item_id] = merge_fences(batch[item_id], fence) if item_id in batch else fence
        pipe = client.pipeline(transaction=False)
        fence_ms = self._config.fence_ttl_ms
        for item_id, fence in batch.items():
            keys = self._keys.item(item_id)
            pipe.execute_command(
                "EVAL", INVALIDATE_ITEM.source, 3, keys.fence, keys.lease, keys.value, fence, fence_ms
            )
        seed = str(self._now_us())
        for namespace in spaces:
            gen_keys = [self._keys.generation(namespace), self._keys.namespace_fence(namespace)]
            pipe.execute_command(
                "EVAL", INVALIDATE_NAMESPACE.source, 2, *gen_keys, seed, self._config.generation_ttl_ms, fence_ms
            )
        pipe.execute()
        with self._lock:
            for item_id, fence in queued.items():
                if self._items.get(item_id) == fence:  # not queued again meanwhile
                    del self._items[item_id]
            for namespace in spaces:
                self._namespaces.pop(namespace, None)

    def flush(self, client: RedisClient) -> None:
        """Deliver what is queued (no-op when the queue is empty)."""
        if len(self):
            self.send(client, {}, [])

    def describe(self) -> dict[str, object]:
        """A bounded view for logs."""
        with self._lock:
            return {
                "pending": len(self._items) + len(self._namespaces),
                "item_ids": list(self._items)[:20],
                "namespaces": [f"{n.kind}:{n.partition}" for n in self._namespaces][:20],
            }
