"""The contract between the domain services and the cache.

Services see only :class:`ReadThroughCache`, so a function without Redis (or a test) runs
with :class:`NullCache`, and the Redis-backed manager (its one subclass with a cache tier)
can change behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from pydantic import TypeAdapter

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class CacheOutcome(StrEnum):
    """What the cache did for one read; sent to clients as the ``X-Cache`` header."""

    HIT = "HIT"
    MISS = "MISS"
    BYPASS = "BYPASS"


@dataclass(frozen=True, slots=True)
class Cached(Generic[T]):
    """A value together with how it was obtained."""

    value: T
    outcome: CacheOutcome


@dataclass(frozen=True, slots=True)
class ListNamespace:
    """A family of list pages invalidated together by one generation counter.

    ``kind``: ``catalogue``, ``category``, ``instructor`` or ``me`` (a user's enrollments);
    ``partition``: the index partition value (empty for the catalogue). ``consistent_reads``
    (not part of its identity): the pages come from a table ``Query``, which can be read
    strongly consistently, so a page may be stored even right after an invalidation.
    """

    kind: str
    partition: str = ""
    consistent_reads: bool = field(default=False, compare=False)


# What an invalidation leaves in an item's version fence (see ``ReadThroughCache.invalidate``).
FENCE_GONE = "gone"  # the row was deleted (ids are never reused): only an absent row may be stored
FENCE_UNKNOWN = "*"  # the committed version is not known: no eventually consistent fill is stored


def version_fence(version: int) -> str:
    """The fence of a committed row at ``version``: a fill must carry this version or a newer one."""
    return str(int(version))


def fence_admits(fence: str | None, value: T | None, version_of: Callable[[T], int]) -> bool:
    """Whether a row read eventually consistently may be stored under ``fence`` (None: no fence)."""
    if fence is None:
        return True
    if fence == FENCE_GONE:
        return value is None
    if fence == FENCE_UNKNOWN or value is None or not fence.isdigit():
        return False
    return version_of(value) >= int(fence)


@dataclass(frozen=True, slots=True)
class EventualRead(Generic[T]):
    """An eventually consistent read of an item (half the read units) and a row's version,
    checked against the item's fence before the row is stored."""

    load: Callable[[], T | None]
    version: Callable[[T], int]


@dataclass(frozen=True, slots=True)
class DependencyStatus:
    """Health of one dependency, as reported by ``GET /health``."""

    status: str  # "ok" | "degraded" | "down" | "disabled"
    detail: str = ""
    extra: dict[str, object] = field(default_factory=dict)


class BatchLoader(Protocol[T_co]):
    """Loads many items at once (one BatchGetItem per 100 ids); absent ids are left out.

    ``consistent`` when the rows will be stored, so a stored row never predates a committed
    write; rows only served (no cache, Redis down) may be read at half the read units.
    """

    def __call__(self, item_ids: Sequence[str], /, *, consistent: bool) -> Mapping[str, T_co]: ...


class ReadThroughCache:
    """Cache-aside reads and the invalidations that keep them correct.

    As written here, with no cache tier: every read goes to the loader (strongly consistent
    where one item is read) and is a BYPASS. The Redis-backed manager overrides each method.
    """

    def fetch_item(self, item_id: str, load: Callable[[], T | None], adapter: TypeAdapter[T], *,
                   skip_near: bool = False, eventual: EventualRead[T] | None = None) -> Cached[T | None]:
        """The item from the near cache, Redis or ``load`` (a ``None`` is cached briefly).

        ``load`` reads strongly consistently. Given ``eventual``, a miss reads that instead and
        stores it only if it is not older than the item's version fence, else reads ``load``.
        """
        return Cached(load(), CacheOutcome.BYPASS)

    def fetch_items(self, item_ids: Sequence[str], load_many: BatchLoader[T], adapter: TypeAdapter[T], *,
                    skip_near: bool = False, version: Callable[[T], int] | None = None,
                    ) -> dict[str, Cached[T | None]]:
        """Many items (the entries ``fetch_item`` uses), the misses read with one ``load_many``.

        Every id is in the result; ``None`` means no such item. With ``version``, the misses
        are read eventually consistently and checked against their fences; the refused ones
        are read again, strongly consistently.
        """
        ids = list(dict.fromkeys(item_ids))
        loaded = load_many(ids, consistent=False) if ids else {}
        return {item_id: Cached(loaded.get(item_id), CacheOutcome.BYPASS) for item_id in ids}

    def fetch_list(self, namespace: ListNamespace, page_key: str, load: Callable[[], T],  # noqa: PLR0913
                   adapter: TypeAdapter[T], *, skip_near: bool = False, eventual: Callable[[], T] | None = None,
                   ) -> Cached[T]:
        """One page of a list; ``page_key`` encodes filters, limit and position.

        Right after the namespace was invalidated (its fence stands), a page loaded from an
        index is served but not stored. A namespace with ``consistent_reads`` stores its pages
        then too (``load`` is strongly consistent), and reads ``eventual`` when no fence stands.
        """
        return Cached(load(), CacheOutcome.BYPASS)

    def invalidate(self, item_ids: Iterable[str], namespaces: Iterable[ListNamespace], *,
                   fences: Mapping[str, str] | None = None, write_id: str | None = None) -> bool:
        """Drop the items and bump the generation of each list namespace; never raises.

        Each item keeps its version fence: ``fences[item_id]`` (from :func:`version_fence` or
        ``FENCE_GONE``), ``FENCE_UNKNOWN`` for the others; an invalidation no newer than the
        fence is a no-op. ``write_id`` names the write: a second invalidation of one write (the
        stream after the write path) bumps no namespace again.
        Returns whether the change reached Redis (``True`` too when there is no Redis tier).
        """
        return True

    def health(self) -> DependencyStatus:
        """Ping Redis (bounded by the client timeouts); never raises."""
        return DependencyStatus(status="disabled", detail="REDIS_URL is not set")


class NullCache(ReadThroughCache):
    """No cache tier (``REDIS_URL`` empty): the contract's own behaviour."""
