"""The whole bill of a million requests: API Gateway, every Lambda invocation, DynamoDB, ElastiCache.

``stats.usd_per_million`` prices what a tier's handlers did (DynamoDB read units, the
function's invocation and billed duration, Redis ECPUs and storage). A request costs more
than that: API Gateway's REST API charges each request, and a route guarded by a Lambda
authorizer would invoke a second function before the first. Which routes run one comes from
``template.yaml`` (through :mod:`local.specs`), so the bill follows the template: this API has
none (the routes anonymous callers use verify a bearer token in the function), so the
``authorizer`` share is 0. What a token costs instead is measured on the layer's own verifier
(:mod:`courses_api.tokens`): warm, the verification's time billed at the function's memory;
cold, the first verification in a fresh process (importing PyJWT and cryptography, then one
verify), which only a token-bearing request pays.

``make bench-bill`` (``python -m benchmarks.bill``) recomputes the bill from the figures
``make bench`` recorded (``benchmarks/results/latest*.json``), measures the token check,
writes both back and regenerates ``docs/BENCHMARKS.md`` from them.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.workload import Request

SERVICES = ("api_gateway", "lambda", "authorizer", "dynamodb", "elasticache")
TOKEN_FUNCTION = "get_course"  # the read a signed-in owner or admin makes, token verified in the function
RESULTS_DIR = Path(__file__).resolve().parent / "results"
REPO_ROOT = Path(__file__).resolve().parent.parent
# One fresh interpreter: the layer on its path, a stand-in pool's JWKS and token in its environment.
_COLD_CHECK = """
import os, sys, time
sys.path.insert(0, os.environ["LAYER_DIR"])
started = time.perf_counter()
from courses_api import tokens
claims = tokens.claims_of({"Authorization": "Bearer " + os.environ["TOKEN"]})
elapsed = (time.perf_counter() - started) * 1000
assert claims is not None and claims["sub"] == "cold-start"
assert "jwt" in sys.modules
print(elapsed)
"""


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


def _pool_environment() -> tuple[dict[str, str], str]:
    """A stand-in pool's ``TOKEN_*`` variables and one valid ID token of it."""
    from local.auth import LocalAuth

    pool = LocalAuth.generate()
    return pool.environment(), pool.mint("cold-start", ["instructors"])


def measure_token_check(runs: int = 2000) -> dict[str, Any]:
    """The verification a token-bearing request adds to its function, warm (keys parsed once).

    Returns its mean and median in ms, what Lambda bills for it on average (it adds its time to
    an invocation billed by the started millisecond), and the memory the template gives the function.
    """
    from local.specs import spec_for_folder

    environment, token = _pool_environment()
    sys.path.insert(0, str(REPO_ROOT / "layers" / "shared"))
    from courses_api import tokens

    args = (token, environment["TOKEN_JWKS"], environment["TOKEN_ISSUER"], environment["TOKEN_AUDIENCE"])
    tokens.verify(*args)  # parse the keys once, as a warm container has
    durations: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        tokens.verify(*args)
        durations.append((time.perf_counter() - started) * 1000)
    return {
        "memory_mb": spec_for_folder(TOKEN_FUNCTION).memory_mb,
        "verify_ms_mean": round(statistics.fmean(durations), 4),
        "verify_ms_p50": round(statistics.median(durations), 4),
        "verify_ms_p99": round(sorted(durations)[int(0.99 * (len(durations) - 1))], 4),
        "runs": runs,
    }


def measure_token_check_cold(runs: int = 15, python: str | None = None) -> dict[str, Any]:
    """The first verification in a fresh process: import the verifier, PyJWT and cryptography, parse
    the JWKS, verify one token. An anonymous request never pays it (the imports are lazy)."""
    environment, token = _pool_environment()
    interpreter = python or os.environ.get("COLD_START_PYTHON") or sys.executable
    env = {"PATH": os.environ.get("PATH", ""), "LAYER_DIR": str(REPO_ROOT / "layers" / "shared"), "TOKEN": token,
           "PYTHONDONTWRITEBYTECODE": "1", **environment}
    samples = []
    for _ in range(runs + 1):  # the first run warms the page cache and is discarded
        output = subprocess.run([interpreter, "-c", _COLD_CHECK], env=env, check=True, capture_output=True,
                                text=True, timeout=60).stdout
        samples.append(float(output.strip().splitlines()[-1]))
    samples = sorted(samples[1:])
    version = subprocess.run([interpreter, "-c", "import sys; print(sys.version.split()[0])"], check=True,
                             capture_output=True, text=True).stdout.strip()
    return {"median": round(statistics.median(samples), 1), "min": round(samples[0], 1),
            "max": round(samples[-1], 1), "runs": runs, "python": version}


def usd_per_invocation(memory_mb: int, billed_ms: float, prices: dict[str, Any]) -> float:
    """One Lambda invocation: the request charge and its billed GB-seconds."""
    lam = prices["lambda"]
    return float(lam["usd_per_million_requests"] / 1e6 + memory_mb / 1024 * billed_ms / 1000 * lam["usd_per_gb_second"])


def token_check_usd_per_million(check: dict[str, Any], prices: dict[str, Any]) -> float:
    """What a million token-bearing requests pay for their verification: its GB-seconds only (no
    second invocation); on average it adds its own duration to the billed milliseconds."""
    gb_seconds = check["memory_mb"] / 1024 * check["verify_ms_mean"] / 1000
    return round(float(gb_seconds * prices["lambda"]["usd_per_gb_second"] * 1e6), 6)


def whole_bill(
    tier_costs: dict[str, float], authorizer_per_request: float, authorizer: dict[str, Any], prices: dict[str, Any]
) -> dict[str, float]:
    """USD per million requests by service, and the total, for one tier's handler costs.

    ``authorizer`` is a Lambda authorizer's ``memory_mb`` and ``billed_ms`` (unused at a share of 0).
    """
    if authorizer_per_request and not authorizer:
        raise ValueError("a route runs a Lambda authorizer: measure its memory and billed duration first")
    per_invocation = (usd_per_invocation(authorizer["memory_mb"], authorizer["billed_ms"], prices)
                      if authorizer_per_request else 0.0)
    parts = {
        "api_gateway": float(prices["api_gateway"]["usd_per_million_requests"]),
        "lambda": tier_costs["lambda"],
        "authorizer": authorizer_per_request * per_invocation * 1e6,
        "dynamodb": tier_costs["dynamodb"],
        "elasticache": tier_costs["elasticache"],
    }
    rounded = {name: round(value, 4) for name, value in parts.items()}
    return {**rounded, "total": round(sum(parts.values()), 4)}


def token_bearing_get(bill: dict[str, float], check: dict[str, Any], prices: dict[str, Any]) -> dict[str, float]:
    """A million GETs that carry a token, at the tier's per-request costs: the anonymous bill plus
    the verification (an owner's or admin's read also skips the near cache; the tier's mix is kept)."""
    extra = token_check_usd_per_million(check, prices)
    return {**bill, "lambda": round(bill["lambda"] + extra, 4), "token_check": extra,
            "total": round(bill["total"] + extra, 4)}


def main(argv: Sequence[str] | None = None) -> int:
    """Recompute ``usd_per_million_whole_bill`` from the recorded figures and measure the token check."""
    import argparse

    from benchmarks.stats import load_prices

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bill", description=main.__doc__)
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    parser.add_argument("--runs", type=int, default=5000, help="warm verifications to time")
    parser.add_argument("--cold-runs", type=int, default=15, help="fresh processes to time")
    parser.add_argument("--no-docs", action="store_true", help="do not regenerate docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    results_path, details_path = args.results / "latest.json", args.results / "latest-details.json"
    results = json.loads(results_path.read_text(encoding="utf-8"))
    details = json.loads(details_path.read_text(encoding="utf-8"))
    prices = load_prices()
    kinds = route_authorizers()
    if any(kind == "lambda" for kind in kinds.values()):
        raise SystemExit("a route runs a Lambda authorizer: its share needs the workload (make bench)")
    check = measure_token_check(args.runs)
    cold = measure_token_check_cold(args.cold_runs)
    costs = details["usd_per_million_by_service"]
    whole = {tier: whole_bill(costs[tier], 0.0, {}, prices) for tier in costs}
    results["usd_per_million_whole_bill"] = whole
    details["whole_bill"] = {
        "route_authorizers": kinds, "authorizer_invocations_per_request": 0.0,
        "token_check": {**check, "cold_ms": cold},
        "token_bearing_get": {tier: token_bearing_get(bill, check, prices) for tier, bill in whole.items()},
        "api_gateway": prices["api_gateway"], "recomputed_by": "python -m benchmarks.bill",
    }
    results_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    details_path.write_text(json.dumps(details, indent=2) + "\n", encoding="utf-8")
    if not args.no_docs:
        from benchmarks import report

        report.write_markdown(report.markdown(results, details))
    best = min(whole, key=lambda tier: whole[tier]["total"])
    print(json.dumps({"best_tier": best, "anonymous": whole[best],
                      "token_bearing_get": details["whole_bill"]["token_bearing_get"][best],
                      "token_check": details["whole_bill"]["token_check"]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

