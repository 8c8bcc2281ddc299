"""Read units sized from the items read, for runs against moto (tests and benchmarks).

moto answers with a fixed, fake ``ConsumedCapacity``, so the figures the tests guard and the
benchmarks report are computed instead, by DynamoDB's published sizing rules
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html,
and CapacityUnitCalculations.html for item sizes): 4 KB read units, half for eventually
consistent reads; GetItem and BatchGetItem round each item up, Query and Scan round the sum of
the bytes read up (before any filter: filtered-out bytes are estimated from ``ScannedCount``
and the mean size of the items this table or index has returned); TransactGetItems costs
twice a consistent read. GetItem and BatchGetItem with a projection are sized from the
attributes returned, while DynamoDB bills the whole item: for items under 4 KB (ours, bar the
longest descriptions) the two agree.

:func:`install` makes every container built afterwards meter this way
(``courses_api.data.capacity.use_meter``); the layer itself ships no sizing code, and in AWS
publishes DynamoDB's own figure.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from courses_api.data.capacity import CapacityMeter, use_meter

READ_UNIT_BYTES = 4096
_DEFAULT_ITEM_BYTES = 600


def _number_size(number: Any) -> int:
    digits = str(Decimal(str(number)).normalize()).lstrip("-").replace(".", "").lstrip("0") or "0"
    return math.ceil(len(digits) / 2) + 1


def _text_size(text: Any) -> int:
    return len(str(text).encode())


# Bytes of each AttributeValue type, given its wire-form content. Lists and maps add 3
# bytes, plus 1 per element (and a map its keys); sets are the sum of their members.
_SIZE_OF_TYPE: dict[str, Callable[[Any], int]] = {
    "S": _text_size,
    "N": _number_size,
    "B": len,
    "BOOL": lambda _: 1,
    "NULL": lambda _: 1,
    "SS": lambda members: sum(_text_size(m) for m in members),
    "NS": lambda members: sum(_number_size(m) for m in members),
    "BS": lambda members: sum(len(m) for m in members),
    "L": lambda values: 3 + sum(1 + attribute_value_size(v) for v in values),
    "M": lambda values: 3 + sum(1 + _text_size(k) + attribute_value_size(v) for k, v in values.items()),
}


def attribute_value_size(value: dict[str, Any]) -> int:
    """Bytes one AttributeValue (wire form) counts for, per DynamoDB's item-size rules."""
    (kind, inner), = value.items()
    size_of = _SIZE_OF_TYPE.get(kind)
    return size_of(inner) if size_of is not None else 0


def item_size(item: dict[str, Any]) -> int:
    """Bytes of an item in wire form: names plus values."""
    return sum(len(name.encode()) + attribute_value_size(value) for name, value in item.items())


def read_units(size_bytes: int, *, consistent: bool) -> float:
    """Read units for ``size_bytes`` read in one unit of billing."""
    units = max(1, math.ceil(size_bytes / READ_UNIT_BYTES))
    return float(units) if consistent else units / 2


class EstimatingMeter(CapacityMeter):
    """A meter that publishes the read units computed from the items read (against moto)."""

    def __init__(self) -> None:
        super().__init__()
        self._mean_item_bytes: dict[tuple[str, str], float] = {}

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build.dynamodb", remember_params)
        super().attach(client)

    def published(self, reported: float, computed: float) -> float:
        return computed

    def computed(self, operation: str, parsed: dict[str, Any], context: dict[str, Any]) -> tuple[float, int]:
        params: dict[str, Any] = context.get("courses_params", {})
        consistent = bool(params.get("ConsistentRead", False))
        if operation == "GetItem":
            item = parsed.get("Item")
            return (read_units(item_size(item), consistent=consistent), 1) if item else (
                read_units(0, consistent=consistent), 0)
        if operation == "BatchGetItem":
            items = [item for table_items in parsed.get("Responses", {}).values() for item in table_items]
            return sum(read_units(item_size(item), consistent=consistent) for item in items), len(items)
        if operation == "TransactGetItems":
            items = [r["Item"] for r in parsed.get("Responses", []) if r.get("Item")]
            return sum(2 * read_units(item_size(i), consistent=True) for i in items), len(items)
        if operation in ("Query", "Scan"):
            items = parsed.get("Items", [])
            returned = sum(item_size(i) for i in items)
            filtered_out = max(0, int(parsed.get("ScannedCount", len(items))) - len(items))
            mean = self.filtered_item_bytes(params, returned, len(items))
            return read_units(int(returned + filtered_out * mean), consistent=consistent), len(items)
        return 0.0, 0

    def filtered_item_bytes(self, params: dict[str, Any], returned: int, count: int) -> float:
        """The size a filtered-out item is taken to have: the running mean of what this table or index returned."""
        source = (str(params.get("TableName", "")), str(params.get("IndexName", "")))
        mean = self._mean_item_bytes.get(source, float(_DEFAULT_ITEM_BYTES))
        if count:
            mean = returned / count if source not in self._mean_item_bytes else 0.9 * mean + 0.1 * (returned / count)
            self._mean_item_bytes[source] = mean
        return mean


def remember_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """``before-parameter-build`` hook: keep what sizing needs of the request (ConsistentRead, table, index)."""
    # BatchGetItem carries the flag per table, inside RequestItems.
    per_table = (params.get("RequestItems") or {}).values()
    consistent = bool(params.get("ConsistentRead")) or any(
        isinstance(request, dict) and request.get("ConsistentRead") for request in per_table
    )
    context["courses_params"] = {
        "ConsistentRead": consistent,
        "TableName": params.get("TableName", ""),
        "IndexName": params.get("IndexName", ""),
    }


class TableAwareMeter(EstimatingMeter):
    """For the naive reference: a filtered-out item of a table Scan has that table's real mean size.

    A filtered ``Scan`` is billed on every item it reads, but a filtered-out item is never
    returned; the naive backend's Scans mix ~2 KB courses with ~100-byte enrollments, so a
    running mean would bill a Scan of the enrollments table that returns a user's five rows
    as if it had read 100,000 course-sized items (about 15x too much). The seeded rows give
    each table's mean exactly.
    """

    def __init__(self, mean_item_bytes: dict[str, float]) -> None:
        super().__init__()
        self.table_mean_bytes = dict(mean_item_bytes)

    def filtered_item_bytes(self, params: dict[str, Any], returned: int, count: int) -> float:
        table = params.get("TableName", "")
        if table in self.table_mean_bytes and not params.get("IndexName"):
            return self.table_mean_bytes[table]
        return super().filtered_item_bytes(params, returned, count)


def install() -> None:
    """Meter every container built from now on with :class:`EstimatingMeter`."""
    use_meter(EstimatingMeter)
