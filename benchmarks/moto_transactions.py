"""Make moto's TransactWriteItems cost time proportional to the transaction, not the database.

Why: moto 5.0 deep-copies every table of the region before each TransactWriteItems, to
roll back a cancelled one. Replaying thousands of enrollments into tables holding ten
thousand courses would then measure that copy (seconds per request), not the write path.

What: a benchmark-only patch (never imported by the product or the tests). Before moto
runs a transaction, the items it names are copied; moto's whole-database copy is replaced
by the database itself (so its rollback is a no-op), and when the transaction is
cancelled, the copied items are put back, or removed if they did not exist. A transaction
touches only the items it names, so this restores exactly what moto's copy would; every
condition, update expression and cancellation reason is still moto's own.
"""

from __future__ import annotations

import copy
import threading
import types
from typing import Any

_installed: dict[str, Any] = {}
_lock = threading.Lock()


def install() -> None:
    """Patch moto's DynamoDB backend in this process (idempotent)."""
    if _installed:
        return
    from moto.dynamodb import models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType

    original = DynamoDBBackend.transact_write_items
    # moto calls ``copy.deepcopy(self.tables)``: hand it the tables themselves instead.
    shallow = types.SimpleNamespace(deepcopy=lambda value, *args: value)

    def touched_items(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
        found = []
        for entry in transact_items:
            (operation, request), = entry.items()
            table = backend.get_table(request["TableName"])
            attributes = request["Item"] if operation == "Put" else request["Key"]
            hash_value = DynamoType(attributes[table.hash_key_attr])
            range_value = DynamoType(attributes[table.range_key_attr]) if table.range_key_attr else None
            before = table.get_item(hash_value, range_value)
            found.append((table, hash_value, range_value, copy.deepcopy(before)))
        return found

    def restore(table: Any, hash_value: Any, range_value: Any, before: Any) -> None:
        if before is None:
            table.delete_item(hash_value, range_value)
        elif range_value is not None:
            table.items[hash_value][range_value] = before
        else:
            table.items[hash_value] = before

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        with _lock:
            touched = touched_items(self, transact_items)
            setattr(models, "copy", shallow)  # noqa: B010 - moto's module global, swapped for this call
            try:
                original(self, transact_items)
            except Exception:
                for item in touched:
                    restore(*item)
                raise
            finally:
                setattr(models, "copy", copy)  # noqa: B010

    _installed["transact_write_items"] = original
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


def uninstall() -> None:
    """Restore moto's own method."""
    if not _installed:
        return
    from moto.dynamodb.models import DynamoDBBackend

    DynamoDBBackend.transact_write_items = _installed.pop("transact_write_items")  # type: ignore[method-assign]
