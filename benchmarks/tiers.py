"""Run one tier: fresh function modules (new containers), a warm-up pass, a measured pass.

Each request goes through the function's real ``lambda_handler`` with a copy of its
event; its read cost is what :class:`benchmarks.metering.EstimatingMeter` computed for
that request, its cache outcome the ``X-Cache`` header of the response.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import Any

from benchmarks.stats import RedisUsage, Sample, TierStats
from benchmarks.workload import LIST, Request, fresh
from courses_api.data.capacity import CapacityMeter
from local.invoke import load_function, new_context

PRODUCT_FUNCTIONS = ("get_course", "list_courses", "list_instructor_courses", "list_my_enrollments")
_counter = itertools.count()
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a tier (settings are read lazily)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class Discard(io.TextIOBase):
    """stdout sink: Powertools still formats its EMF lines (a real cost), nobody reads them."""

    def write(self, text: str) -> int:
        return len(text)


def invoke(handler: Handler, request: Request) -> Sample:
    """Call one handler with a private copy of the event; time it and read its cost."""
    event = fresh(request.event)
    context = new_context(request.function)
    CapacityMeter.begin_request()
    started = time.perf_counter()
    response = handler(event, context)
    elapsed_ms = (time.perf_counter() - started) * 1000
    cost = CapacityMeter.current()
    headers = response.get("headers") or {}
    cache = headers.get("X-Cache") or (response.get("multiValueHeaders") or {}).get("X-Cache", [""])[-1]
    return Sample(
        request.kind,
        elapsed_ms,
        cost.computed_rcu if cost else 0.0,
        cache or "",
        response["statusCode"],
        cost.calls.get("Scan", 0) if cost else 0,
        started,
        shown_courses(response) if request.kind == LIST else (),
    )


def shown_courses(response: dict[str, Any]) -> tuple[str, ...]:
    """The course ids of a list page (a page reads its courses' item entries for their counts)."""
    if response.get("statusCode") != 200:
        return ()
    items = json.loads(response.get("body") or "{}").get("items", [])
    return tuple(str(item["course_id"]) for item in items)


def run_requests(
    handlers: dict[str, Handler], requests: Sequence[Request], progress: Any = None
) -> tuple[list[Sample], float]:
    """Serve ``requests`` one after another; returns the samples and the wall time."""
    samples: list[Sample] = []
    started = time.perf_counter()
    with contextlib.redirect_stdout(Discard()):
        for request in requests:
            samples.append(invoke(handlers[request.function], request))
            if progress is not None:
                progress.update(1)
    return samples, time.perf_counter() - started


def redis_counters(client: Any) -> RedisUsage:
    """Commands processed, bytes in+out and memory used, from INFO."""
    stats = client.info("stats")
    memory = client.info("memory")
    return RedisUsage(
        commands=int(stats["total_commands_processed"]),
        bytes_transferred=int(stats["total_net_input_bytes"]) + int(stats["total_net_output_bytes"]),
        used_memory_bytes=int(memory["used_memory_dataset"]),
    )


def run_product_tier(
    name: str,
    env: dict[str, str],
    warmup: Sequence[Request],
    measured: Sequence[Request],
    *,
    redis_client: Any = None,
    progress: Any = None,
) -> TierStats:
    """The product's handlers under ``env`` (cache on/off, near cache on/off)."""
    with environment(env):
        modules = {fn: load_function(fn) for fn in PRODUCT_FUNCTIONS}
        handlers: dict[str, Handler] = {fn: module.lambda_handler for fn, module in modules.items()}
        warm_samples, _ = run_requests(handlers, warmup, progress)
        before = redis_counters(redis_client) if redis_client is not None else None
        samples, wall_s = run_requests(handlers, measured, progress)
        usage = RedisUsage()
        if redis_client is not None and before is not None:
            after = redis_counters(redis_client)
            usage = RedisUsage(
                commands=after.commands - before.commands - 2,  # minus our own two INFO calls
                bytes_transferred=after.bytes_transferred - before.bytes_transferred,
                used_memory_bytes=after.used_memory_bytes,
            )
    return TierStats(name, samples, {}, usage, wall_s, warm_samples)


def stratified(measured: Sequence[Request], per_kind: dict[str, int]) -> tuple[list[Request], dict[str, float]]:
    """The first ``per_kind[k]`` requests of each kind, and the weight that restores the mix.

    A sample of kind k stands for (share of k in ``measured``) / (samples of k) requests.
    """
    chosen: list[Request] = []
    taken: dict[str, int] = dict.fromkeys(per_kind, 0)
    for request in measured:
        if taken.get(request.kind, 0) < per_kind.get(request.kind, 0):
            chosen.append(request)
            taken[request.kind] += 1
    share = {kind: sum(1 for r in measured if r.kind == kind) / len(measured) for kind in per_kind}
    weights = {kind: share[kind] / taken[kind] for kind in per_kind if taken[kind]}
    return chosen, weights


def run_naive_tier(
    naive: ModuleType,
    measured: Sequence[Request],
    per_kind: dict[str, int],
    *,
    meter: CapacityMeter,
    progress: Any = None,
) -> TierStats:
    """The naive reference backend on a stratified sample of the measured plan."""
    naive.reset()
    meter.attach(naive.get_client())
    handler: Handler = naive.lambda_handler
    chosen, weights = stratified(measured, per_kind)
    warm = [next(r for r in measured if r.kind == "item")]
    run_requests(dict.fromkeys(("get_course", "list_courses", "list_instructor_courses",
                                "list_my_enrollments"), handler), warm)
    handlers = dict.fromkeys({r.function for r in chosen}, handler)
    samples, wall_s = run_requests(handlers, chosen, progress)
    return TierStats("scan_baseline", samples, weights, RedisUsage(), wall_s)
