"""The whole bill of a million requests: API Gateway, every Lambda invocation, DynamoDB, ElastiCache.

``stats.usd_per_million`` prices what a tier's handlers did (DynamoDB read units, the
function's invocation and billed duration, Redis ECPUs and storage). A request costs more
than that: API Gateway's REST API charges each request, and a route guarded by a Lambda
authorizer invokes a second function before the first (result caching is off on this API:
the optional authorizer has no identity source, so every request is authorized afresh).
Which routes run a Lambda authorizer comes from ``template.yaml`` (through
:mod:`local.specs`), so the bill follows the template; the authorizer's billed duration is
measured on its real handler, in-process, for the callers the workload has (anonymous).
"""

from __future__ import annotations

import contextlib
import math
import statistics
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.workload import Request, build_event

AUTHORIZER_FOLDER = "optional_authorizer"
SERVICES = ("api_gateway", "lambda", "authorizer", "dynamodb", "elasticache")


def route_authorizers() -> dict[str, str]:
    """``{function folder: authorizer kind}`` of each function's ``GET`` route (``none`` when open)."""
    from local.specs import function_specs

    kinds: dict[str, str] = {}
    for spec in function_specs().values():
        for route in spec.routes:
            if route.method == "GET":
                kinds[spec.folder] = route.authorizer.kind if route.authorizer is not None else "none"
    return kinds


def authorizer_invocations_per_request(requests: Sequence[Request], kinds: dict[str, str]) -> float:
    """Lambda authorizer invocations per request of the mix: 1 for each request on a ``lambda`` route."""
    if not requests:
        return 0.0
    return sum(1 for request in requests if kinds.get(request.function) == "lambda") / len(requests)


def anonymous_authorizer_event() -> dict[str, Any]:
    """The REQUEST authorizer event of an anonymous ``GET /courses/{id}`` (no ``Authorization`` header)."""
    event = build_event("get_course", path_parameters={"course_id": "c1"})
    return {
        "type": "REQUEST",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/courses/c1",
        "headers": event["headers"],
        "httpMethod": "GET",
        "resource": event["resource"],
        "path": event["path"],
    }


def measure_authorizer(runs: int = 2000) -> dict[str, Any]:
    """The authorizer's handler on an anonymous ``GET /courses/{id}`` (what the workload's reads send).

    Returns the mean billed duration (Lambda bills each invocation by the started
    millisecond) and the memory the template gives the function.
    """
    from benchmarks.tiers import Discard
    from local.invoke import load_function, new_context
    from local.specs import spec_for_folder

    module = load_function(AUTHORIZER_FOLDER)
    request = anonymous_authorizer_event()
    durations: list[float] = []
    with contextlib.redirect_stdout(Discard()):
        for _ in range(runs):
            context = new_context(AUTHORIZER_FOLDER)
            started = time.perf_counter()
            answer = module.lambda_handler(dict(request), context)
            durations.append((time.perf_counter() - started) * 1000)
    if answer["policyDocument"]["Statement"][0]["Effect"] != "Allow":
        raise RuntimeError("the authorizer refused an anonymous caller")
    return {
        "memory_mb": spec_for_folder(AUTHORIZER_FOLDER).memory_mb,
        "billed_ms": round(statistics.fmean(math.ceil(ms) for ms in durations), 3),
        "handler_ms_p50": round(statistics.median(durations), 4),
        "runs": runs,
    }


def usd_per_authorizer_invocation(authorizer: dict[str, Any], prices: dict[str, Any]) -> float:
    """One authorizer invocation: the request charge and its billed GB-seconds."""
    lam = prices["lambda"]
    gb_seconds = authorizer["memory_mb"] / 1024 * authorizer["billed_ms"] / 1000
    return float(lam["usd_per_million_requests"] / 1e6 + gb_seconds * lam["usd_per_gb_second"])


def whole_bill(
    tier_costs: dict[str, float], authorizer_per_request: float, authorizer: dict[str, Any], prices: dict[str, Any]
) -> dict[str, float]:
    """USD per million requests by service, and the total, for one tier's handler costs."""
    parts = {
        "api_gateway": float(prices["api_gateway"]["usd_per_million_requests"]),
        "lambda": tier_costs["lambda"],
        "authorizer": authorizer_per_request * usd_per_authorizer_invocation(authorizer, prices) * 1e6,
        "dynamodb": tier_costs["dynamodb"],
        "elasticache": tier_costs["elasticache"],
    }
    rounded = {name: round(value, 4) for name, value in parts.items()}
    return {**rounded, "total": round(sum(parts.values()), 4)}
