"""The enrollment counter: the Enrollments stream, summed per tumbling window, applied once.

Lambda's tumbling window (``TumblingWindowInSeconds``) hands the function each stream
shard's records in batches with the *state* the previous invocation returned, and calls it
a last time when the window closes (``isFinalInvokeForWindow``). The state is each course's
sum so far (``INSERT`` +1, ``REMOVE`` -1) with the first and last sequence numbers counted;
the final invocation applies every sum with
:class:`~courses_api.data.enrollment_counts.CountWriter`, whose per-shard mark makes a
replayed window add nothing. So a launch writes its course row once per stream shard and
window, not once per enrollment, and no enrollment waits on a shared item.

A course whose window sum reaches :data:`~courses_api.data.enrollments.WIDE_AT` is also
written early, once per window and shard, so the count (and the roster width of a course
not declared a launch, see :mod:`courses_api.data.enrollments`) moves within a batch's
delay. Nothing here touches Redis: the row's change reaches the cache through the Courses
stream. A failed write fails the invocation; Lambda retries it with the same state, and
the marks skip the sums applied before the failure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from courses_api.data.enrollment_counts import Applied, CountWriter, Reconciler, WindowSum
from courses_api.data.enrollments import WIDE_AT
from courses_api.observability import logger, metrics

_DELTAS = {"INSERT": 1, "REMOVE": -1}


class NotATumblingWindow(ValueError):
    """The event has no ``shardId``: the mapping lacks ``TumblingWindowInSeconds`` (see template.yaml)."""


def counted(record: Mapping[str, Any]) -> tuple[str, int, int, int] | None:
    """``(course_id, delta, sequence, time)`` of an Enrollments record, or ``None`` if it counts nothing."""
    delta = _DELTAS.get(str(record.get("eventName", "")))
    stream = record.get("dynamodb") or {}
    keys = stream.get("Keys") or {}
    course_id = (keys.get("course_id") or {}).get("S")
    user_id = (keys.get("user_id") or {}).get("S")
    sequence = str(stream.get("SequenceNumber", ""))
    if delta is None or not course_id or not user_id or not sequence.isdigit():
        return None
    created = stream.get("ApproximateCreationDateTime", 0)
    return str(course_id), delta, int(sequence), int(created) if isinstance(created, int | float) else 0


def load_state(state: Any) -> tuple[dict[str, WindowSum], set[str]]:
    """The window's sums so far and the courses written early, from the state Lambda passes back."""
    state = state if isinstance(state, Mapping) else {}
    sums = {str(course_id): WindowSum(*map(int, value)) for course_id, value in (state.get("courses") or {}).items()}
    return sums, {str(course_id) for course_id in state.get("early") or []}


def dump_state(sums: Mapping[str, WindowSum], early: set[str] | None = None) -> dict[str, Any]:
    """The state to hand back (JSON; sequence numbers as strings: they exceed 64 bits)."""
    courses = {c: [s.delta, str(s.first), str(s.last), s.last_time] for c, s in sums.items()}
    return {"courses": courses, **({"early": sorted(early)} if early else {})}


def fold(sums: dict[str, WindowSum], records: list[Mapping[str, Any]]) -> int:
    """Add a batch's records to the sums (a record at or before a course's last one is skipped); how many counted."""
    folded = 0
    for record in records:
        found = counted(record)
        if found is None:
            continue
        course_id, delta, sequence, created = found
        current = sums.get(course_id)
        if current is None:
            sums[course_id] = WindowSum(delta, sequence, sequence, created)
        elif sequence > current.last:
            sums[course_id] = WindowSum(current.delta + delta, current.first, sequence, max(created, current.last_time))
        else:
            continue
        folded += 1
    return folded


class EnrollmentCounter:
    """Handles the Enrollments stream's tumbling-window invocations (the response carries the state)."""

    def __init__(self, writer: CountWriter, reconciler: Reconciler) -> None:
        self._writer = writer
        self._reconciler = reconciler

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Fold the batch into the state; at the window's end, apply every course's sum."""
        shard = event.get("shardId")
        if not isinstance(shard, str) or not shard:
            raise NotATumblingWindow("the enrollment counter needs tumbling-window events (shardId, state)")
        sums, early = load_state(event.get("state"))
        fold(sums, list(event.get("Records") or []))
        final = bool(event.get("isFinalInvokeForWindow") or event.get("isWindowTerminatedEarly"))
        due = sums if final else {c: w for c, w in sums.items() if w.delta >= WIDE_AT and c not in early}
        outcomes = Counter(self._apply(course_id, shard, window) for course_id, window in due.items() if window.delta)
        for outcome, number in outcomes.items():
            metrics.add_metric(name=f"EnrollmentWindows{outcome.value.title()}", unit=MetricUnit.Count, value=number)
        if final:
            return {"state": {}}
        return {"state": dump_state({c: w for c, w in sums.items() if c not in due}, early | set(due))}

    def _apply(self, course_id: str, shard: str, window: WindowSum) -> Applied:
        """One course's sum; a window that overlaps a counted one recounts the course instead."""
        outcome = self._writer.apply(course_id, shard, window)
        if outcome is Applied.OVERLAP:
            logger.warning("window overlaps a counted one: recounting", extra={"course_id": course_id})
            self._reconciler.recount(course_id, shard, window)
        return outcome
