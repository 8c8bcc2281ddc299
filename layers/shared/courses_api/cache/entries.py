"""The two kinds of cache entry, their keys (:class:`KeySpace`), one shape (peek, read, fill,
release), and their Lua.

A hit is a plain ``GET`` (an item) or ``MGET`` of generation and page (one slot): only the
guarded fills store values, so scripts run only on misses, fills, failures and writes. Every
key a script touches is in ``KEYS`` and shares one hash tag. Each method returns the
:class:`~courses_api.cache.guard.ScriptCall` to run, alone or pipelined with others.

An :class:`ItemEntry` is one row, guarded by a lease (Facebook memcache style): a fill is stored
only if its lease token is still there, and an invalidation deletes value and lease, so a reader
that loaded before it cannot store its stale row after it. Leases earn their place in the
stampede figure: 64 concurrent misses on one key cost 1 DynamoDB read (``docs/BENCHMARKS.md``);
a key expires once an hour and its lease makes that one load, so no early refresh (XFetch).
Its version fence (the version an invalidation committed, kept a day) refuses older rows read
eventually consistently.

A :class:`PageEntry` is one list page, stored as ``<generation>:<value>`` under its namespace's
generation counter (one ``INCR`` drops every page), its lease, and the namespace fence (a bump
younger than replica lag: index pages leased then are served but not stored). A missing
generation is seeded from the clock, not 0, so an evicted counter cannot make old pages current
again. One seeded by readers lives as long as its pages (anyone may read any list: no reader
grows Redis for longer); only a write gives it the longer ``generation_ttl_ms``.

A *source* says how a leased fill reads its value, and whether it may be stored; a read
without a lease (another reader holds it, or Redis failed) reads ``load`` and only serves.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, cast

from courses_api.cache.api import FENCE_UNKNOWN, BatchLoader, EventualRead, ListNamespace, fence_admits
from courses_api.cache.guard import Script, ScriptCall

if TYPE_CHECKING:
    from courses_api.cache.client import RedisClient
    from courses_api.cache.config import CacheConfig

# Statuses returned by the read scripts.
HIT = 1
LEASE = 2  # miss: the caller holds the lease and must load and fill
WAIT = 3  # miss: someone else holds the lease

# KEYS: value, lease, fence, unsure. ARGV: token, lease_ms.
# -> {HIT, value} | {LEASE, fence, unsure (0|1)} | {WAIT}
# (a value filled since the caller's GET missed is a hit; fence is nil when none was ever left)
READ_ITEM = Script.of("""
local v = redis.call('GET', KEYS[1])
if v then return {1, v} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {2, redis.call('GET', KEYS[3]), redis.call('EXISTS', KEYS[4])}
end
return {3}
""")

# KEYS: value, lease. ARGV: token, value, ttl_ms. -> 1 stored | 0 lease lost
FILL_ITEM = Script.of("""
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[2])
return 1
""")

# KEYS: generation, page, lease, namespace fence. ARGV: token, lease_ms, seed (a seeded
# generation lives as long as the lease; the fill extends it to the page's TTL).
# -> {HIT, value, gen} | {LEASE, gen, fenced (0|1)} | {WAIT, gen}
READ_PAGE = Script.of("""
local g = redis.call('GET', KEYS[1])
if not g then
  g = ARGV[3]
  redis.call('SET', KEYS[1], g, 'PX', ARGV[2])
end
local v = redis.call('GET', KEYS[2])
local prefix = g .. ':'
if v and string.sub(v, 1, #prefix) == prefix then
  return {1, string.sub(v, #prefix + 1), g}
end
local l = redis.call('GET', KEYS[3])
if l and string.sub(l, 1, #prefix) == prefix then return {3, g} end
redis.call('SET', KEYS[3], prefix .. ARGV[1], 'PX', ARGV[2])
return {2, g, redis.call('EXISTS', KEYS[4])}
""")

# KEYS: generation, page, lease. ARGV: token, gen, value, ttl_ms.
# The generation is kept at least as long as the page (never shortened).
# -> 1 stored | 0 generation moved on or lease lost
FILL_PAGE = Script.of("""
local g = redis.call('GET', KEYS[1])
if g ~= ARGV[2] then return 0 end
if redis.call('GET', KEYS[3]) ~= g .. ':' .. ARGV[1] then return 0 end
redis.call('SET', KEYS[2], g .. ':' .. ARGV[3], 'PX', ARGV[4])
redis.call('DEL', KEYS[3])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return 1
""")

# KEYS: lease. ARGV: expected lease value. Releases a lease whose loader failed.
RELEASE = Script.of("""
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
""")

# KEYS: fence, unsure, lease, value. ARGV: fence value (a version, "gone" or "*"), fence_ms,
# retention_ms. -> 1 applied | 0 already applied (or older than what was)
# A version (or "gone", after every version: ids are never reused) is kept for retention_ms
# (a day: longer than any stream or queue lag), and only a newer one replaces it, so the same
# write delivered again (the stream after the write path) or an older one arriving late is a
# no-op: it neither drops the entry filled since (which reflects at least that version) nor
# lowers the fence. "*" (the version did not move) marks the item unsure for fence_ms (longer
# than replica lag): no eventually consistent fill is trusted meanwhile. The fence is set
# before the entry is dropped: a lease taken before this script is deleted by it, and one
# taken after sees the fence.
INVALIDATE_ITEM = Script.of("""
local new = ARGV[1]
if new == '*' then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[2])
else
  local cur = redis.call('GET', KEYS[1])
  if cur == 'gone' then return 0 end
  if cur and new ~= 'gone' and tonumber(cur) and tonumber(new) and tonumber(new) <= tonumber(cur) then
    return 0
  end
  redis.call('SET', KEYS[1], new, 'PX', ARGV[3])
end
redis.call('DEL', KEYS[3], KEYS[4])
return 1
""")

# KEYS: generation, namespace fence[, write marker]. ARGV: seed, generation_ttl_ms, fence_ms,
# retention_ms. -> new generation | 0 (this write already bumped it)
# With a write marker (one per write and namespace), a write bumps the generation once: the
# stream's copy of a write the write path already applied keeps the pages filled since, which
# reflect it. The fence before the bump, so a lease taken under the new generation sees it.
INVALIDATE_NAMESPACE = Script.of("""
if KEYS[3] and not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[4]) then return 0 end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
local g = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return g
""")


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


# What a read script answered: the stored bytes (a hit), a lease, or None (another reader holds it).
ReadResult: TypeAlias = bytes | Lease | None


@dataclass(frozen=True, slots=True)
class ItemEntry:
    """One item's keys: value, lease, version fence and unsure mark."""

    value: str
    lease: str
    fence: str
    unsure: str

    def peek(self, client: RedisClient) -> bytes | None:
        """A hit with a plain GET: values are only written by the guarded fill."""
        return cast("bytes | None", client.get(self.value))

    def read(self, token: str, config: CacheConfig, now_us: int) -> ScriptCall:
        return ScriptCall(READ_ITEM, [self.value, self.lease, self.fence, self.unsure], [token, config.lease_ttl_ms])

    def parse_read(self, reply: Any, token: str) -> ReadResult:
        status = int(reply[0])
        if status == HIT:
            return cast(bytes, reply[1])
        if status == LEASE:
            return Lease(token, fence=FENCE_UNKNOWN if int(reply[2]) else None if reply[1] is None else _text(reply[1]))
        return None

    def fill(self, lease: Lease, data: bytes, ttl_ms: int) -> ScriptCall:
        return ScriptCall(FILL_ITEM, [self.value, self.lease], [lease.token, data, ttl_ms])

    def release(self, lease: Lease) -> ScriptCall:
        return ScriptCall(RELEASE, [self.lease], [lease.token])


@dataclass(frozen=True, slots=True)
class PageEntry:
    """One list page's keys: its generation counter, value and lease, and its namespace's fence
    (present while the last invalidation is younger than replica lag); ``group``: the near-cache
    prefix of the namespace's pages."""

    generation: str
    value: str
    lease: str
    fence: str
    group: str

    def peek(self, client: RedisClient) -> bytes | None:
        """A hit under the current generation, read with one MGET (both keys in one slot)."""
        generation, raw = cast("list[bytes | None]", client.mget([self.generation, self.value]))
        if generation is None or raw is None or not raw.startswith(generation + b":"):
            return None
        return raw[len(generation) + 1 :]

    def read(self, token: str, config: CacheConfig, now_us: int) -> ScriptCall:
        keys = [self.generation, self.value, self.lease, self.fence]
        return ScriptCall(READ_PAGE, keys, [token, config.lease_ttl_ms, str(now_us)])

    def parse_read(self, reply: Any, token: str) -> ReadResult:
        status = int(reply[0])
        if status == HIT:
            return cast(bytes, reply[1])
        if status == LEASE:
            return Lease(token, _text(reply[1]), fenced=int(reply[2]) == 1)
        return None

    def fill(self, lease: Lease, data: bytes, ttl_ms: int) -> ScriptCall:
        keys = [self.generation, self.value, self.lease]
        return ScriptCall(FILL_PAGE, keys, [lease.token, lease.generation, data, ttl_ms])

    def release(self, lease: Lease) -> ScriptCall:
        return ScriptCall(RELEASE, [self.lease], [f"{lease.generation}:{lease.token}"])


def _tag(text: str) -> str:
    """Make ``text`` safe inside ``{...}``: a ``}`` would end the hash tag early."""
    return text.replace("%", "%25").replace("}", "%7D").replace("{", "%7B")


@dataclass(frozen=True, slots=True)
class KeySpace:
    """The entries of one application: ``<prefix>:v<schema>:<kind>:{<hash tag>}:...``.

    Every key one script touches carries the same ``{hash tag}``, so the script runs on one
    Redis Cluster slot (ElastiCache Serverless is cluster-mode only). Bumping the schema
    version in settings moves every key to a new namespace, so a deploy that changes a model
    never reads entries written by the old code.
    """

    prefix: str = "courses"
    schema_version: int = 1

    @property
    def root(self) -> str:
        return f"{self.prefix}:v{self.schema_version}"

    def item(self, item_id: str) -> ItemEntry:
        base = f"{self.root}:item:{{{_tag(item_id)}}}"
        return ItemEntry(value=base, lease=f"{base}:lease", fence=f"{base}:fence", unsure=f"{base}:unsure")

    def generation(self, namespace: ListNamespace) -> str:
        return f"{self.root}:gen:{{{_tag(f'{namespace.kind}:{namespace.partition}')}}}"

    def namespace_fence(self, namespace: ListNamespace) -> str:
        return f"{self.generation(namespace)}:fence"

    def write_marker(self, namespace: ListNamespace, write_id: str) -> str:
        """Present once ``write_id`` bumped the namespace (same slot as its generation)."""
        digest = hashlib.blake2b(write_id.encode(), digest_size=12).hexdigest()
        return f"{self.generation(namespace)}:w:{digest}"

    def page(self, namespace: ListNamespace, page_key: str) -> PageEntry:
        """A page; ``page_key`` (filters, limit, position) is hashed to bound key length."""
        group = f"{self.root}:list:{{{_tag(f'{namespace.kind}:{namespace.partition}')}}}"
        base = f"{group}:{hashlib.blake2b(page_key.encode(), digest_size=12).hexdigest()}"
        generation = self.generation(namespace)
        return PageEntry(generation, base, f"{base}:lease", f"{generation}:fence", group)


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


@dataclass(frozen=True, slots=True)
class BatchSource:
    """The fills of a batch of items (by position in ``ids``), in one ``load_many`` for all.

    Without ``version``: strongly consistent if any row is to be stored (see BatchLoader). With
    it: eventually consistent, then strongly consistently (in one more load) the leased rows
    older than their fence, and those whose fence trusts no eventual read (an absent row is
    refused under a version fence too). Every leased row is stored.
    """

    ids: Sequence[str]
    load_many: BatchLoader[Any]
    version: Callable[[Any], int] | None = None

    def read(self, pending: Mapping[int, Lease | None]) -> dict[int, tuple[object, bool]]:
        leases = {self.ids[n]: lease for n, lease in pending.items() if lease is not None}
        to_load = [*leases, *(self.ids[n] for n, lease in pending.items() if lease is None)]
        if self.version is None:
            loaded = dict(self.load_many(to_load, consistent=bool(leases))) if to_load else {}
        else:
            untrusted = {i for i, lease in leases.items() if lease.fence == FENCE_UNKNOWN}
            eventual = [i for i in to_load if i not in untrusted]
            loaded = dict(self.load_many(eventual, consistent=False)) if eventual else {}
            refused = [i for i, lease in leases.items()
                       if i in untrusted or not fence_admits(lease.fence, loaded.get(i), self.version)]
            if refused:
                for item_id in refused:
                    loaded.pop(item_id, None)
                loaded.update(self.load_many(refused, consistent=True))
        return {n: (loaded.get(self.ids[n]), lease is not None) for n, lease in pending.items()}


Entry: TypeAlias = ItemEntry | PageEntry
Source: TypeAlias = ItemSource | PageSource  # ``load`` is the strong read, used where nothing is stored


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
