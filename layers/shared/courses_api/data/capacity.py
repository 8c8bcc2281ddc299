"""Read cost of each request, in DynamoDB read capacity units.

Every read asks for ``ReturnConsumedCapacity``, and the meter sums what DynamoDB reports:
in AWS that is the figure the functions publish. moto reports fixed, fake
``ConsumedCapacity`` numbers, so against an endpoint override (tests, benchmarks) the
meter publishes its estimate instead, computed from the items read by DynamoDB's
published sizing rules: 4 KB read units, half for eventually consistent reads; GetItem
and BatchGetItem round each item up, Query and Scan round the sum of the bytes read up
(before any filter: filtered-out bytes are estimated from ``ScannedCount`` and the mean
size of the items this table or index has returned). GetItem and BatchGetItem with a
projection are sized from the attributes returned, while DynamoDB bills the whole item:
for items under 4 KB (ours, bar the longest descriptions) the two agree. In AWS nothing is
sized: the meter only sums what DynamoDB reports. A cache hit issues no read and costs zero.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

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


@dataclass
class ReadCost:
    """What one request (or one benchmark tier) has read.

    ``rcu`` is the figure published: ``reported_rcu`` or ``computed_rcu``, as the meter
    that recorded the reads was told (see :class:`CapacityMeter`).
    """

    rcu: float = 0.0
    computed_rcu: float = 0.0
    reported_rcu: float = 0.0
    calls: dict[str, int] = field(default_factory=dict)
    items_read: int = 0

    def add_call(self, operation: str) -> None:
        self.calls[operation] = self.calls.get(operation, 0) + 1

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


_current: ContextVar[ReadCost | None] = ContextVar("courses_read_cost", default=None)


class CapacityMeter:
    """Hooks a DynamoDB client and adds each read's cost to the current request and a total.

    ``estimate``: charge the computed figure (against an emulator) rather than the
    ``ConsumedCapacity`` DynamoDB reports (in AWS).
    """

    READ_OPERATIONS = ("GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems")

    def __init__(self, *, estimate: bool = True) -> None:
        self.estimate = estimate
        self.total = ReadCost()
        self._lock = threading.Lock()
        self._mean_item_bytes: dict[tuple[str, str], float] = {}

    def attach(self, client: Any) -> None:
        """Register on the client's event system (botocore ``after-call``)."""
        client.meta.events.register("before-parameter-build.dynamodb", remember_params)
        client.meta.events.register("after-call.dynamodb", self._after_call)

    @staticmethod
    def begin_request() -> ReadCost:
        """Start metering a new request in this context; returns its cost accumulator."""
        cost = ReadCost()
        _current.set(cost)
        return cost

    @staticmethod
    def current() -> ReadCost | None:
        return _current.get()

    def _after_call(self, http_response: Any, parsed: dict[str, Any], model: Any, **kwargs: Any) -> None:
        operation = model.name
        params: dict[str, Any] = (kwargs.get("context") or {}).get("courses_params", {})
        # In AWS the figure is DynamoDB's own: no item is sized on the production path.
        computed, items = self._computed(operation, parsed, params) if self.estimate else (0.0, 0)
        reported = self._reported(parsed)
        for cost in (self.total, _current.get()):
            if cost is None:
                continue
            with self._lock:
                cost.add_call(operation)
                cost.rcu += computed if self.estimate else reported
                cost.computed_rcu += computed
                cost.reported_rcu += reported
                cost.items_read += items

    def _computed(self, operation: str, parsed: dict[str, Any], params: dict[str, Any]) -> tuple[float, int]:
        consistent = bool(params.get("ConsistentRead", False))
        if operation == "GetItem":
            item = parsed.get("Item")
            return (read_units(item_size(item), consistent=consistent), 1) if item else (
                read_units(0, consistent=consistent), 0)
        if operation == "BatchGetItem":
            total, count = 0.0, 0
            for table_items in parsed.get("Responses", {}).values():
                for item in table_items:
                    total += read_units(item_size(item), consistent=consistent)
                    count += 1
            return total, count
        if operation == "TransactGetItems":
            items = [r["Item"] for r in parsed.get("Responses", []) if r.get("Item")]
            return sum(2 * read_units(item_size(i), consistent=True) for i in items), len(items)
        if operation in ("Query", "Scan"):
            items = parsed.get("Items", [])
            returned = sum(item_size(i) for i in items)
            source = (str(params.get("TableName", "")), str(params.get("IndexName", "")))
            mean = self._mean_item_bytes.get(source, float(_DEFAULT_ITEM_BYTES))
            if items:
                mean = returned / len(items) if source not in self._mean_item_bytes else (
                    0.9 * mean + 0.1 * (returned / len(items)))
                self._mean_item_bytes[source] = mean
            scanned = int(parsed.get("ScannedCount", len(items)))
            filtered_out = max(0, scanned - len(items))
            read_bytes = returned + filtered_out * mean
            return read_units(int(read_bytes), consistent=consistent), len(items)
        return 0.0, 0

    @staticmethod
    def _reported(parsed: dict[str, Any]) -> float:
        consumed = parsed.get("ConsumedCapacity")
        if isinstance(consumed, dict):
            return float(consumed.get("ReadCapacityUnits", consumed.get("CapacityUnits", 0.0)) or 0.0)
        if isinstance(consumed, list):
            return sum(float(c.get("ReadCapacityUnits", c.get("CapacityUnits", 0.0)) or 0.0) for c in consumed)
        return 0.0


def remember_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    """``before-parameter-build`` hook: keep the request parameters so ``after-call`` knows ConsistentRead."""
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
