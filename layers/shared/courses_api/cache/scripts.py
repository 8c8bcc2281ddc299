"""Lua scripts. Every key a script touches is passed in ``KEYS`` and shares one hash tag.

A hit is a plain ``GET`` (items) or ``MGET`` of generation and page (lists, one slot): the
read scripts run only on a miss, to take or wait for the lease, the others on fills,
failures and writes.

Items use leases (Facebook memcache style): a miss takes a lease token; the fill is stored
only if that token is still there; an invalidation deletes value and lease, so a reader that
loaded before it cannot store its stale row after it. Leases earn their place in the stampede
figure: 64 concurrent misses on one key cost 1 DynamoDB read (``docs/BENCHMARKS.md``). With
write-driven invalidation and 1 h TTLs a key expires once an hour, and its lease makes that
one load: no early refresh (XFetch) is needed.

Lists are guarded by a generation counter per namespace (one ``INCR`` drops every page): a
page is stored as ``<generation>:<value>`` and is a hit only under the current generation; a
fill is stored only if its generation is still current and it still holds the page's lease.
A missing generation is seeded from the client's clock, not 0, so an evicted counter cannot
make old pages current again. A generation only readers created lives as long as its pages
(anyone may read any list: a longer life would let readers grow Redis without bound); only a
write gives it the longer ``generation_ttl_ms``.

Version fences make fills from eventually consistent reads safe: an invalidation leaves the
committed version in the item's fence key (kept a day); the lease script returns it, and a
fill whose row is older is refused (then read again strongly consistently). A namespace's
fence key marks a bump younger than replica lag: index pages loaded under a lease taken then
are served but not stored.
"""

from __future__ import annotations

# Statuses returned by the read scripts.
HIT = 1
LEASE = 2  # miss: the caller holds the lease and must load and fill
WAIT = 3  # miss: someone else holds the lease

# KEYS: value, lease, fence, unsure. ARGV: token, lease_ms.
# -> {HIT, value} | {LEASE, fence, unsure (0|1)} | {WAIT}
# (a value filled since the caller's GET missed is a hit; fence is nil when none was ever left)
READ_ITEM = """
local v = redis.call('GET', KEYS[1])
if v then return {1, v} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {2, redis.call('GET', KEYS[3]), redis.call('EXISTS', KEYS[4])}
end
return {3}
"""

# KEYS: value, lease. ARGV: token, value, ttl_ms. -> 1 stored | 0 lease lost
FILL_ITEM = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[2])
return 1
"""

# KEYS: generation, page, lease, namespace fence. ARGV: token, lease_ms, seed (a seeded
# generation lives as long as the lease; the fill extends it to the page's TTL).
# -> {HIT, value, gen} | {LEASE, gen, fenced (0|1)} | {WAIT, gen}
READ_PAGE = """
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
"""

# KEYS: generation, page, lease. ARGV: token, gen, value, ttl_ms.
# The generation is kept at least as long as the page (never shortened).
# -> 1 stored | 0 generation moved on or lease lost
FILL_PAGE = """
local g = redis.call('GET', KEYS[1])
if g ~= ARGV[2] then return 0 end
if redis.call('GET', KEYS[3]) ~= g .. ':' .. ARGV[1] then return 0 end
redis.call('SET', KEYS[2], g .. ':' .. ARGV[3], 'PX', ARGV[4])
redis.call('DEL', KEYS[3])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end
return 1
"""

# KEYS: lease. ARGV: expected lease value. Releases a lease whose loader failed.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

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
INVALIDATE_ITEM = """
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
"""

# KEYS: generation, namespace fence[, write marker]. ARGV: seed, generation_ttl_ms, fence_ms,
# retention_ms. -> new generation | 0 (this write already bumped it)
# With a write marker (one per write and namespace), a write bumps the generation once: the
# stream's copy of a write the write path already applied keeps the pages filled since, which
# reflect it. The fence before the bump, so a lease taken under the new generation sees it.
INVALIDATE_NAMESPACE = """
if KEYS[3] and not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[4]) then return 0 end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
local g = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return g
"""
