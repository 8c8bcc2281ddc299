"""The read-unit meter for the naive reference, with each table's real mean item size.

A filtered ``Scan`` is billed on every item it reads, but a filtered-out item is never
returned, so :class:`courses_api.capacity.CapacityMeter` estimates its size from the mean
size of the items it has seen returned — across all tables. For the naive backend that
mixes ~2 KB courses with ~100-byte enrollments, so a Scan of the enrollments table that
returns a user's five rows would be billed as if it had read 100,000 course-sized items
(about 15x too much). This subclass keeps the meter's rules and only swaps that estimate
for the mean size of the table actually read, known exactly from the seeded rows.
"""

from __future__ import annotations

from typing import Any

from courses_api.data.capacity import CapacityMeter, item_size, read_units


class TableAwareMeter(CapacityMeter):
    """``CapacityMeter`` whose filtered-out bytes use the scanned table's mean item size."""

    def __init__(self, mean_item_bytes: dict[str, float]) -> None:
        super().__init__()
        self.table_mean_bytes = dict(mean_item_bytes)

    def attach(self, client: Any) -> None:
        super().attach(client)
        # Registered after the meter's own hook, so it runs after it and extends its dict.
        client.meta.events.register("before-parameter-build.dynamodb", _remember_table)

    def _computed(self, operation: str, parsed: dict[str, Any], params: dict[str, Any]) -> tuple[float, int]:
        table = params.get("TableName", "")
        if operation not in ("Query", "Scan") or table not in self.table_mean_bytes or params.get("IndexName"):
            return super()._computed(operation, parsed, params)
        items = parsed.get("Items", [])
        returned = sum(item_size(i) for i in items)
        filtered_out = max(0, int(parsed.get("ScannedCount", len(items))) - len(items))
        read_bytes = returned + filtered_out * self.table_mean_bytes[table]
        return read_units(int(read_bytes), consistent=bool(params.get("ConsistentRead", False))), len(items)


def _remember_table(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """Add the table and index to what the meter remembers of the request."""
    remembered = context.setdefault("courses_params", {})
    remembered.update(TableName=params.get("TableName", ""), IndexName=params.get("IndexName", ""))
