"""Lua scripts. Every key a script touches is passed in ``KEYS`` and shares one hash tag.

They run only off the common path: a hit is a plain ``GET`` (items) or ``MGET`` of the
generation and the page (lists, one slot), with no script; the read scripts run on a
miss, to take or wait for the lease, and the others on fills, refreshes and failures.

Items use leases (Facebook memcache style): a miss takes a lease token; the fill is
stored only if that token is still there; an invalidation deletes value and lease, so a
reader that loaded before the invalidation cannot store its stale row after it.

Lists are guarded by a generation counter per namespace (one ``INCR`` invalidates every
page): a page is stored as ``<generation>:<value>`` and is a hit only under the current
generation; a fill is stored only if the generation it read is still current and it
still holds the page's lease. A missing generation is seeded from the client's clock
(``ARGV``) rather than 0, so an evicted counter cannot make old pages current again.

A generation only readers created is bounded by the pages under it: seeded for the
lease's life, then kept as long as the longest page filled under it. Anyone can read a
list of any category or instructor, so a generation that outlived its pages would let
readers grow Redis without bound; only an invalidation (a write) gives a generation the
longer life its ``generation_ttl_ms`` argument names, and fills never shorten it.
"""

from __future__ import annotations

# Statuses returned by the read scripts.
HIT = 1
LEASE = 2  # miss: the caller holds the lease and must load and fill
WAIT = 3  # miss: someone else holds the lease

# KEYS: value, lease. ARGV: token, lease_ms. -> {HIT, value} | {LEASE} | {WAIT}
# (a value filled since the caller's GET missed is a hit)
READ_ITEM = """
local v = redis.call('GET', KEYS[1])
if v then return {1, v} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2} end
return {3}
"""

# KEYS: value, lease. ARGV: token, value, ttl_ms. -> 1 stored | 0 lease lost
FILL_ITEM = """
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[2])
return 1
"""

# KEYS: generation, page, lease. ARGV: token, lease_ms, seed, generation_ttl_ms (unused:
# a seeded generation lives as long as the lease; the fill extends it to the page's TTL).
# -> {HIT, value, gen} | {LEASE, gen} | {WAIT, gen}
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
return {2, g}
"""

# KEYS: generation, page, lease. ARGV: token, gen, value, ttl_ms, generation_ttl_ms (unused).
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

# KEYS: value, lease. ARGV: lease value, lease_ms, stored prefix the reader saw. -> 1 | 0
# An early (XFetch) refresh lease, only while the entry is still the one the reader saw:
# the prefix is the codec header (kind, delta, expiry: one fill), behind "<gen>:" for a
# page, so after a refill in between a late reader does not refresh it again.
REFRESH = """
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, #ARGV[3]) ~= ARGV[3] then return 0 end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
"""

# KEYS: lease. ARGV: expected lease value. Releases a lease whose loader failed.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
