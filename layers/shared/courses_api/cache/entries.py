"""The two kinds of cache entry, with one shape: peek, read (lease), fill, release, refresh.

An :class:`ItemEntry` is one row by id, guarded by its lease and its version fence. A
:class:`PageEntry` is one page of a list, guarded by its namespace's generation (stored
as ``<generation>:<value>``), its lease, and the namespace fence. Each method returns
the :class:`~courses_api.cache.link.ScriptCall` to run, so the single-key path runs it
alone and the batch path pipelines many; only ``peek`` talks to Redis itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from courses_api.cache import scripts
from courses_api.cache.api import FENCE_UNKNOWN, Fenced, fence_admits
from courses_api.cache.config import CacheConfig
from courses_api.cache.keys import ItemKeys, PageKeys
from courses_api.cache.link import Script, ScriptCall

if TYPE_CHECKING:
    from courses_api.cache.client import RedisClient

T = TypeVar("T")

READ_ITEM = Script.of(scripts.READ_ITEM)
FILL_ITEM = Script.of(scripts.FILL_ITEM)
READ_PAGE = Script.of(scripts.READ_PAGE)
FILL_PAGE = Script.of(scripts.FILL_PAGE)
_FENCED_AT = 2  # position of the namespace-fence flag in READ_PAGE's lease reply
RELEASE = Script.of(scripts.RELEASE)
REFRESH = Script.of(scripts.REFRESH)


@dataclass(frozen=True, slots=True)
class Lease:
    """The right to fill one entry, and what its fill must respect.

    ``fence``: the item's version fence when the lease was taken (``None``: none left);
    ``fenced``: the page's namespace was invalidated less than the fence TTL ago.
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


class Entry(Protocol):
    """What the manager needs of either kind of entry."""

    @property
    def value_key(self) -> str: ...

    @property
    def near_group(self) -> str: ...

    def ttl_s(self, value: object) -> float: ...

    def peek(self, client: RedisClient) -> ReadResult | None: ...

    def read(self, token: str, config: CacheConfig, now_us: int) -> ScriptCall: ...

    def parse_read(self, reply: Any, token: str) -> ReadResult: ...

    def fill(self, lease: Lease, data: bytes, ttl_ms: int, config: CacheConfig) -> ScriptCall: ...

    def release(self, lease: Lease) -> ScriptCall: ...

    def refresh(self, token: str, generation: str, stamp: bytes, config: CacheConfig) -> tuple[ScriptCall, Lease]: ...


@dataclass(frozen=True, slots=True)
class ItemEntry:
    """One item: value, lease and version fence under one hash tag."""

    keys: ItemKeys
    item_ttl_s: float
    negative_ttl_s: float

    @property
    def value_key(self) -> str:
        return self.keys.value

    @property
    def near_group(self) -> str:
        return ""

    def ttl_s(self, value: object) -> float:
        return self.negative_ttl_s if value is None else self.item_ttl_s

    def peek(self, client: RedisClient) -> ReadResult | None:
        """A hit with a plain GET: values are only written by the guarded fill."""
        value = cast("bytes | None", client.get(self.keys.value))
        return None if value is None else ReadResult(scripts.HIT, value)

    def read(self, token: str, config: CacheConfig, now_us: int) -> ScriptCall:
        keys = [self.keys.value, self.keys.lease, self.keys.fence, self.keys.unsure]
        return ScriptCall(READ_ITEM, keys, [token, config.lease_ttl_ms])

    def parse_read(self, reply: Any, token: str) -> ReadResult:
        status = int(reply[0])
        if status == scripts.HIT:
            return ReadResult(status, reply[1])
        if status == scripts.LEASE:
            fence = FENCE_UNKNOWN if int(reply[2]) else None if reply[1] is None else _text(reply[1])
            return ReadResult(status, lease=Lease(token, fence=fence))
        return ReadResult(status)

    def fill(self, lease: Lease, data: bytes, ttl_ms: int, config: CacheConfig) -> ScriptCall:
        return ScriptCall(FILL_ITEM, [self.keys.value, self.keys.lease], [lease.token, data, ttl_ms])

    def release(self, lease: Lease) -> ScriptCall:
        return ScriptCall(RELEASE, [self.keys.lease], [lease.token])

    def refresh(self, token: str, generation: str, stamp: bytes, config: CacheConfig) -> tuple[ScriptCall, Lease]:
        # The fence is not read here: a refresh reloads strongly consistently (FENCE_UNKNOWN),
        # so it never replaces a row with an older replica's copy.
        call = ScriptCall(REFRESH, [self.keys.value, self.keys.lease], [token, config.lease_ttl_ms, stamp])
        return call, Lease(token, fence=FENCE_UNKNOWN)


@dataclass(frozen=True, slots=True)
class PageEntry:
    """One list page: generation, page and lease (and the namespace fence) under one hash tag."""

    keys: PageKeys
    list_ttl_s: float

    @property
    def value_key(self) -> str:
        return self.keys.value

    @property
    def near_group(self) -> str:
        return self.keys.group

    def ttl_s(self, value: object) -> float:
        return self.list_ttl_s

    def peek(self, client: RedisClient) -> ReadResult | None:
        """A hit under the current generation, read with one MGET (both keys in one slot)."""
        generation, raw = cast("list[bytes | None]", client.mget([self.keys.generation, self.keys.value]))
        if generation is None or raw is None:
            return None
        prefix = generation + b":"
        if not raw.startswith(prefix):
            return None
        return ReadResult(scripts.HIT, raw[len(prefix) :], generation=generation.decode())

    def read(self, token: str, config: CacheConfig, now_us: int) -> ScriptCall:
        keys = [self.keys.generation, self.keys.value, self.keys.lease, self.keys.fence]
        return ScriptCall(READ_PAGE, keys, [token, config.lease_ttl_ms, str(now_us), config.generation_ttl_ms])

    def parse_read(self, reply: Any, token: str) -> ReadResult:
        status = int(reply[0])
        if status == scripts.HIT:
            return ReadResult(status, reply[1], _text(reply[2]))
        generation = _text(reply[1])
        if status == scripts.LEASE:
            fenced = len(reply) > _FENCED_AT and int(reply[_FENCED_AT]) == 1
            return ReadResult(status, generation=generation, lease=Lease(token, generation, fenced=fenced))
        return ReadResult(status, generation=generation)

    def fill(self, lease: Lease, data: bytes, ttl_ms: int, config: CacheConfig) -> ScriptCall:
        keys = [self.keys.generation, self.keys.value, self.keys.lease]
        return ScriptCall(FILL_PAGE, keys, [lease.token, lease.generation, data, ttl_ms, config.generation_ttl_ms])

    def release(self, lease: Lease) -> ScriptCall:
        return ScriptCall(RELEASE, [self.keys.lease], [f"{lease.generation}:{lease.token}"])

    def refresh(self, token: str, generation: str, stamp: bytes, config: CacheConfig) -> tuple[ScriptCall, Lease]:
        # A page stored under the current generation was filled when no fence was left (or
        # from a consistent read), and no invalidation came since: no fence to respect.
        lease_value = f"{generation}:{token}"
        seen = f"{generation}:".encode() + stamp
        call = ScriptCall(REFRESH, [self.keys.value, self.keys.lease], [lease_value, config.lease_ttl_ms, seen])
        return call, Lease(token, generation)


@dataclass(frozen=True, slots=True)
class ItemSource:
    """How an item's fill is read: eventually consistently when the fence allows, else strongly."""

    load: Callable[[], object]
    fenced: Fenced[Any] | None = None

    def read_for(self, lease: Lease) -> tuple[object, bool]:
        """The value to serve and whether it may be stored."""
        if self.fenced is not None and lease.fence != FENCE_UNKNOWN:
            value = self.fenced.load()
            if fence_admits(lease.fence, value, self.fenced.version):
                return value, True
        return self.load(), True


@dataclass(frozen=True, slots=True)
class PageSource:
    """A page's load: an index read (eventually consistent) unless ``consistent``.

    ``eventual``: for a ``consistent`` page, the same read eventually consistently, used
    while no namespace fence stands (as an item's fill is read behind its fence).
    """

    load: Callable[[], object]
    consistent: bool = False
    eventual: Callable[[], object] | None = None

    def read_for(self, lease: Lease) -> tuple[object, bool]:
        if self.consistent:
            # No fence: no invalidation within replica lag, and one arriving during the read
            # moves the generation, so this lease's fill is refused.
            if self.eventual is not None and not lease.fenced:
                return self.eventual(), True
            return self.load(), True
        # An index cannot be read strongly consistently: right after an invalidation of its
        # namespace the page is served but not stored.
        return self.load(), not lease.fenced


class Source(Protocol):
    """How a leased fill obtains its value, and whether that value may be stored.

    ``load`` is the strongly consistent read, used where nothing is stored (bypass, wait).
    """

    @property
    def load(self) -> Callable[[], object]: ...

    def read_for(self, lease: Lease) -> tuple[object, bool]: ...


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
