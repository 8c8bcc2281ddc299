"""The contract between the domain services and the cache.

Services only see this protocol, so a function without Redis (or a test) can run with
:class:`NullCache`, and the Redis-backed manager can evolve behind it.
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

    ``kind`` is ``catalogue``, ``category``, ``instructor`` or ``course-enrollments``;
    ``partition`` is the index partition value (empty for the catalogue).
    """

    kind: str
    partition: str = ""


@dataclass(frozen=True, slots=True)
class DependencyStatus:
    """Health of one dependency, as reported by ``GET /health``."""

    status: str  # "ok" | "degraded" | "down" | "disabled"
    detail: str = ""
    extra: dict[str, object] = field(default_factory=dict)


class BatchLoader(Protocol[T_co]):
    """Loads many items at once (one BatchGetItem per 100 ids); absent ids are left out.

    ``consistent`` is True when the rows will be stored in the cache: then they must be
    read strongly consistently, so a stored row never predates a committed write. Rows
    that are only served (no cache, Redis down) may be read eventually consistently, at
    half the read units.
    """

    def __call__(self, item_ids: Sequence[str], /, *, consistent: bool) -> Mapping[str, T_co]: ...


class ReadThroughCache(Protocol):
    """Cache-aside reads and the invalidations that keep them correct."""

    def fetch_item(
        self,
        item_id: str,
        load: Callable[[], T | None],
        adapter: TypeAdapter[T],
        *,
        skip_near: bool = False,
    ) -> Cached[T | None]:
        """Return the item from near cache, Redis or ``load`` (``None`` is cached negatively)."""
        ...

    def fetch_items(
        self,
        item_ids: Sequence[str],
        load_many: BatchLoader[T],
        adapter: TypeAdapter[T],
        *,
        skip_near: bool = False,
    ) -> dict[str, Cached[T | None]]:
        """Many items (same entries as ``fetch_item``): the misses are read with one ``load_many``.

        Every id of ``item_ids`` is in the result; ``None`` means no such item.
        """
        ...

    def fetch_list(
        self,
        namespace: ListNamespace,
        page_key: str,
        load: Callable[[], T],
        adapter: TypeAdapter[T],
        *,
        skip_near: bool = False,
    ) -> Cached[T]:
        """Return one page of a list; ``page_key`` encodes filters, limit and cursor."""
        ...

    def invalidate(self, item_ids: Iterable[str], namespaces: Iterable[ListNamespace]) -> None:
        """Drop the items and bump the generation of each list namespace; never raises."""
        ...

    def health(self) -> DependencyStatus:
        """Ping Redis (bounded by the client timeouts); never raises."""
        ...


class NullCache:
    """No cache tier: every read goes to the loader and is reported as a BYPASS."""

    def fetch_item(
        self,
        item_id: str,
        load: Callable[[], T | None],
        adapter: TypeAdapter[T],
        *,
        skip_near: bool = False,
    ) -> Cached[T | None]:
        return Cached(load(), CacheOutcome.BYPASS)

    def fetch_items(
        self,
        item_ids: Sequence[str],
        load_many: BatchLoader[T],
        adapter: TypeAdapter[T],
        *,
        skip_near: bool = False,
    ) -> dict[str, Cached[T | None]]:
        ids = list(dict.fromkeys(item_ids))
        loaded = load_many(ids, consistent=False) if ids else {}
        return {item_id: Cached(loaded.get(item_id), CacheOutcome.BYPASS) for item_id in ids}

    def fetch_list(
        self,
        namespace: ListNamespace,
        page_key: str,
        load: Callable[[], T],
        adapter: TypeAdapter[T],
        *,
        skip_near: bool = False,
    ) -> Cached[T]:
        return Cached(load(), CacheOutcome.BYPASS)

    def invalidate(self, item_ids: Iterable[str], namespaces: Iterable[ListNamespace]) -> None:
        return None

    def health(self) -> DependencyStatus:
        return DependencyStatus(status="disabled", detail="REDIS_URL is not set")
