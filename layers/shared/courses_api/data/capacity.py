"""Read cost of each request, in DynamoDB read capacity units, as DynamoDB reports it.

Every read asks for ``ReturnConsumedCapacity``; the meter adds each response's
``ConsumedCapacity`` to the current request's cost and to a running total, and the handler
publishes the request's figure. Nothing is sized here: in AWS DynamoDB's own figure is the
truth. Emulators report fake figures (moto's are fixed), so the tests and benchmarks, which
run against moto, install a meter that sizes the items read by DynamoDB's rules instead
(:func:`use_meter`; theirs is ``benchmarks/metering.py``). A cache hit issues no read and
costs zero.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ReadCost:
    """What one request (or one benchmark tier) has read.

    ``rcu`` is the figure published: ``reported_rcu`` (DynamoDB's), or ``computed_rcu``
    where an estimating meter is installed.
    """

    rcu: float = 0.0
    computed_rcu: float = 0.0
    reported_rcu: float = 0.0
    calls: dict[str, int] = field(default_factory=dict)
    items_read: int = 0

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


_current: ContextVar[ReadCost | None] = ContextVar("courses_read_cost", default=None)


class CapacityMeter:
    """Hooks a DynamoDB client and adds each call's reported read units to the current request and a total."""

    def __init__(self) -> None:
        self.total = ReadCost()
        self._lock = threading.Lock()

    def attach(self, client: Any) -> None:
        """Register on the client's event system (botocore ``after-call``)."""
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
        reported = reported_units(parsed)
        computed, items = self.computed(model.name, parsed, kwargs.get("context") or {})
        for cost in (self.total, _current.get()):
            if cost is None:
                continue
            with self._lock:
                cost.calls[model.name] = cost.calls.get(model.name, 0) + 1
                cost.rcu += self.published(reported, computed)
                cost.computed_rcu += computed
                cost.reported_rcu += reported
                cost.items_read += items

    def computed(self, operation: str, parsed: dict[str, Any], context: dict[str, Any]) -> tuple[float, int]:
        """Read units sized from the items read, and how many: none here (an estimating meter's job)."""
        return 0.0, 0

    def published(self, reported: float, computed: float) -> float:
        """The figure a call adds to ``rcu``: DynamoDB's own."""
        return reported


def reported_units(parsed: dict[str, Any]) -> float:
    """The read units in a response's ``ConsumedCapacity`` (one entry, or one per table)."""
    consumed = parsed.get("ConsumedCapacity")
    entries = [consumed] if isinstance(consumed, dict) else consumed if isinstance(consumed, list) else []
    return sum(float(c.get("ReadCapacityUnits", c.get("CapacityUnits", 0.0)) or 0.0) for c in entries)


_meter_type: type[CapacityMeter] = CapacityMeter


def use_meter(meter_type: type[CapacityMeter]) -> None:
    """Meter with ``meter_type`` in every container built from now on (tests and benchmarks, against moto)."""
    global _meter_type  # noqa: PLW0603 - one choice per process
    _meter_type = meter_type


def new_meter() -> CapacityMeter:
    """A meter of the type in use: DynamoDB's figures unless :func:`use_meter` chose otherwise."""
    return _meter_type()
