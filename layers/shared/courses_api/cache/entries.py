"""The two kinds of cache entry, with one shape: peek, read (lease), fill, release.

An :class:`ItemEntry` is one row by id, guarded by its lease and its version fence. A
:class:`PageEntry` is one page of a list, guarded by its namespace's generation (stored
as ``<generation>:<value>``), its lease, and the namespace fence. Each method returns
the :class:`~courses_api.cache.guard.ScriptCall` to run, so the single-key path runs it
alone and the batch path pipelines many; only ``peek`` talks to Redis itself.
A *source* says how a leased fill reads its value, and whether it may be stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from courses_api.cache import scripts
from courses_api.cache.api import FENCE_UNKNOWN, EventualRead, fence_admits
from courses_api.cache.config import CacheConfig
from courses_api.cache.guard import Script, ScriptCall
from courses_api.cache.keys import ItemKeys, PageKeys

if TYPE_CHECKING:
    from courses_api.cache.client import RedisClient

READ_ITEM = Script.of(scripts.READ_ITEM)
FILL_ITEM = Script.of(scripts.FILL_ITEM)
READ_PAGE = Script.of(scripts.READ_PAGE)
FILL_PAGE = Script.of(scripts.FILL_PAGE)
RELEASE = Script.of(scripts.RELEASE)


@dataclass(frozen=True, slots=True)
class Lease:
    """The right to fill one entry, and what its fill must respect.

    ``fence``: the item's version fence when the lease was taken (``None``: none left;
    ``FENCE_UNKNOWN`` while the item is unsure); ``fenced``: the page's namespace was
    invalidated less than the fence TTL ago.
    """

    token: str
    generation: str = ""
    fence: str | None = None
    fenced: bool = False


@dataclass(frozen=True, slots=True)
class ReadResult:
    """A hit (``raw``, and for a page its ``generation``), a lease, or a wait."""

    status: int
    raw: bytes = b""
    generation: str = ""
    lease: Lease | None = None


@dataclass(frozen=True, slots=True)
class ItemEntry:
    """One item: value, lease, version fence and unsure mark under one hash tag."""

    keys: ItemKeys
    item_ttl_s: float
    negative_ttl_s: float

    @property
    def value_key(self) -> str:
        return self.keys.value

    def ttl_s(self, value: object) -> float:
        return self.negative_ttl_s if value is None else self.item_ttl_s

    def peek(self, client: RedisClient) -> ReadResult | None:
        """A hit with a plain GET: values are only written by the guarded fill."""
        value = cast("bytes | None", client.get(self.keys.value))
        return None if value is None else ReadResult(scripts.HIT, value)

    def read(self, token: str, config: CacheConfig, now_us: int) -> ScriptCall:
        keys = self.keys
        return ScriptCall(READ_ITEM, [keys.value, keys.lease, keys.fence, keys.unsure], [token, config.lease_ttl_ms])

    def parse_read(self, reply: Any, token: str) -> ReadResult:
        status = int(reply[0])
        if status == scripts.HIT:
            return ReadResult(status, reply[1])
        if status == scripts.LEASE:
            fence = FENCE_UNKNOWN if int(reply[2]) else None if reply[1] is None else _text(reply[1])
            return ReadResult(status, lease=Lease(token, fence=fence))
        return ReadResult(status)

    def fill(self, lease: Lease, data: bytes, ttl_ms: int) -> ScriptCall:
        return ScriptCall(FILL_ITEM, [self.keys.value, self.keys.lease], [lease.token, data, ttl_ms])

    def release(self, lease: Lease) -> ScriptCall:
        return ScriptCall(RELEASE, [self.keys.lease], [lease.token])


@dataclass(frozen=True, slots=True)
class PageEntry:
    """One list page: generation, page and lease (and the namespace fence) under one hash tag."""

    keys: PageKeys
    list_ttl_s: float

    @property
    def value_key(self) -> str:
        return self.keys.value

    def ttl_s(self, value: object) -> float:
        return self.list_ttl_s

    def peek(self, client: RedisClient) -> ReadResult | None:
        """A hit under the current generation, read with one MGET (both keys in one slot)."""
        generation, raw = cast("list[bytes | None]", client.mget([self.keys.generation, self.keys.value]))
        if generation is None or raw is None or not raw.startswith(generation + b":"):
            return None
        return ReadResult(scripts.HIT, raw[len(generation) + 1 :], generation=generation.decode())

    def read(self, token: str, config: CacheConfig, now_us: int) -> ScriptCall:
        keys = [self.keys.generation, self.keys.value, self.keys.lease, self.keys.fence]
        return ScriptCall(READ_PAGE, keys, [token, config.lease_ttl_ms, str(now_us)])

    def parse_read(self, reply: Any, token: str) -> ReadResult:
        status, generation = int(reply[0]), _text(reply[2] if int(reply[0]) == scripts.HIT else reply[1])
        if status == scripts.HIT:
            return ReadResult(status, reply[1], generation)
        if status == scripts.LEASE:
            return ReadResult(status, generation=generation, lease=Lease(token, generation, fenced=int(reply[2]) == 1))
        return ReadResult(status, generation=generation)

    def fill(self, lease: Lease, data: bytes, ttl_ms: int) -> ScriptCall:
        keys = [self.keys.generation, self.keys.value, self.keys.lease]
        return ScriptCall(FILL_PAGE, keys, [lease.token, lease.generation, data, ttl_ms])

    def release(self, lease: Lease) -> ScriptCall:
        return ScriptCall(RELEASE, [self.keys.lease], [f"{lease.generation}:{lease.token}"])


@dataclass(frozen=True, slots=True)
class ItemSource:
    """An item's fill: eventually consistent (half the read units) when its fence admits the row.

    That halving is the read floor's figure, read units per item miss: 0.50 for courses under
    4 KB (``docs/BENCHMARKS.md``), where a strongly consistent read costs 1.
    """

    load: Callable[[], object]
    eventual: EventualRead[Any] | None = None

    def read_for(self, lease: Lease) -> tuple[object, bool]:
        if self.eventual is not None and lease.fence != FENCE_UNKNOWN:
            value = self.eventual.load()
            if fence_admits(lease.fence, value, self.eventual.version):
                return value, True
        return self.load(), True


@dataclass(frozen=True, slots=True)
class PageSource:
    """A page's fill: an index read (eventually consistent by nature) unless ``consistent``.

    An index page loaded while its namespace fence stands is served but not stored. A
    ``consistent`` page (a table Query) is stored either way, read ``eventual`` while no
    fence stands (a user's enrollment page: half the read units of a miss).
    """

    load: Callable[[], object]
    consistent: bool = False
    eventual: Callable[[], object] | None = None

    def read_for(self, lease: Lease) -> tuple[object, bool]:
        if not self.consistent:
            return self.load(), not lease.fenced
        if self.eventual is not None and not lease.fenced:
            return self.eventual(), True
        return self.load(), True


Entry: TypeAlias = ItemEntry | PageEntry
Source: TypeAlias = ItemSource | PageSource  # ``load`` is the strong read, used where nothing is stored


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
