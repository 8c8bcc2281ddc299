"""Make the in-process moto answer a Query in time proportional to the partition, not the table.

Why: moto 5.0's ``Table.all_items()`` sorts every item of the table on each call, and its
``Table.query`` walks that whole list to find one partition (for a GSI as for the table).
With 20,000 courses and 100,000 enrollments a single ``GET /me/enrollments`` Query costs
moto a sort of 100,000 items, so the indexed tiers would take hours and measure moto's
sort rather than the product. DynamoDB does not work that way: a Query reads its
partition only.

What: a benchmark-only patch (never imported by the product or the tests) that caches
the sorted item list per table and, while a Query runs, hands it only the items of the
queried partition, pre-filtered on the very attribute moto itself filters on, in the
same order. Everything moto does next (sorting, ``ExclusiveStartKey``, ``Limit``, the
1 MB page, filters, projections, ``ScannedCount``) is unchanged, so responses, and so
the read units computed from them, are identical; only moto's wall time changes. The
cache is dropped on every write (put, delete, update, transaction), so it can never serve
a stale item list. ``--moto-as-is`` turns the patch off to compare.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_state = threading.local()
_lock = threading.Lock()
_version = [0]
_installed: dict[str, Any] = {}


@dataclass
class _TableCache:
    version: int
    items: list[Any]
    partitions: dict[str, dict[Any, list[Any]]] = field(default_factory=dict)


_caches: dict[int, _TableCache] = {}


def _bump(*_: Any) -> None:
    with _lock:
        _version[0] += 1
        _caches.clear()


def _wrap_write(original: Callable[..., Any]) -> Callable[..., Any]:
    def write(*args: Any, **kwargs: Any) -> Any:
        try:
            return original(*args, **kwargs)
        finally:
            _bump()

    return write


def install() -> None:
    """Patch moto's DynamoDB ``Table`` in this process (idempotent)."""
    if _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    original_all_items = Table.all_items
    original_query = Table.query
    query_signature = inspect.signature(original_query)

    def cached(table: Any) -> _TableCache:
        with _lock:
            entry = _caches.get(id(table))
            if entry is None or entry.version != _version[0]:
                entry = _TableCache(_version[0], original_all_items(table))
                _caches[id(table)] = entry
            return entry

    def all_items(self: Any) -> list[Any]:
        entry = cached(self)
        hint = getattr(_state, "partition", None)
        if hint is None:
            return list(entry.items)
        attribute, key = hint
        with _lock:
            partitions = entry.partitions.get(attribute)
            if partitions is None:
                partitions = {}
                for item in entry.items:
                    value = item.attrs.get(attribute)
                    if value is not None:
                        partitions.setdefault(value, []).append(item)
                entry.partitions[attribute] = partitions
        return list(partitions.get(key, ()))

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = query_signature.bind(self, *args, **kwargs)
        index_name = bound.arguments.get("index_name")
        if index_name:
            index = self.get_index(index_name)
            attribute = next(key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH")
        else:
            attribute = self.hash_key_attr
        _state.partition = (attribute, bound.arguments["hash_key"])
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _state.partition = None

    _installed.update(
        all_items=original_all_items,
        query=original_query,
        put_item=Table.put_item,
        delete_item=Table.delete_item,
        update_item=DynamoDBBackend.update_item,
        transact_write_items=DynamoDBBackend.transact_write_items,
    )
    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]
    Table.put_item = _wrap_write(Table.put_item)  # type: ignore[method-assign]
    Table.delete_item = _wrap_write(Table.delete_item)  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _wrap_write(DynamoDBBackend.update_item)  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = _wrap_write(  # type: ignore[method-assign]
        DynamoDBBackend.transact_write_items
    )


def uninstall() -> None:
    """Restore moto's own methods."""
    if not _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    Table.all_items = _installed["all_items"]  # type: ignore[method-assign]
    Table.query = _installed["query"]  # type: ignore[method-assign]
    Table.put_item = _installed["put_item"]  # type: ignore[method-assign]
    Table.delete_item = _installed["delete_item"]  # type: ignore[method-assign]
    DynamoDBBackend.update_item = _installed["update_item"]  # type: ignore[method-assign]
    DynamoDBBackend.transact_write_items = _installed["transact_write_items"]  # type: ignore[method-assign]
    _installed.clear()
    _bump()
