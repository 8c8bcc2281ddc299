"""The launch profile of ``samconfig.toml`` admits the launch the docs describe (10,000 enrollments/s).

Lambda: "concurrency = (average requests per second) * (average request duration in
seconds)" (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html, read
2026-12-03). API Gateway throttles a stage to its rate limit in requests per second
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html,
read 2026-12-03).
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
LAUNCH_ENROLLMENTS_PER_S = 10_000
ENROLL_DURATION_S = 0.05  # generous: a cached course read and one PutItem


def overrides(section: str) -> dict[str, str]:
    config = tomllib.loads((REPO / "samconfig.toml").read_text(encoding="utf-8"))
    pairs = config[section]["deploy"]["parameters"]["parameter_overrides"]
    return dict(pair.split("=", 1) for pair in pairs)


def test_the_launch_profile_admits_the_documented_launch() -> None:
    launch = overrides("launch")
    assert int(launch["ApiThrottleRateLimit"]) >= LAUNCH_ENROLLMENTS_PER_S
    assert int(launch["EnrollReservedConcurrency"]) >= LAUNCH_ENROLLMENTS_PER_S * ENROLL_DURATION_S
    # the cost guards stay: a per-client WAF rate rule and the prod alarms
    assert launch["EnableWaf"] == "true"
    assert int(launch["WafRateLimitPer5Min"]) <= 2_000
    assert launch["Stage"] == "prod"


def test_the_launch_profile_deploys_the_prod_stack_and_changes_only_the_launch_numbers() -> None:
    config = tomllib.loads((REPO / "samconfig.toml").read_text(encoding="utf-8"))
    assert config["launch"]["global"]["parameters"]["stack_name"] == config["prod"]["global"]["parameters"][
        "stack_name"]
    prod, launch = overrides("prod"), overrides("launch")
    changed = {name for name in launch if prod.get(name) != launch[name]}
    assert changed == {"ApiThrottleRateLimit", "ApiThrottleBurstLimit", "EnrollReservedConcurrency",
                       "CacheMaxEcpuPerSecond"}


def reservation_parameter(function: dict[str, Any]) -> str | None:
    """The parameter a function's reserved concurrency takes under the launch profile (its first
    ``!Ref`` wins: Enroll reserves its own parameter when set, else the shared one)."""
    refs = re.findall(r"'Ref': '(\w+)'", repr(function.get("Properties", {}).get("ReservedConcurrentExecutions")))
    return next((ref for ref in refs if ref != "AWS::NoValue"), None)


def test_the_launch_profile_reserves_no_more_than_an_account_can(source: dict[str, Any]) -> None:
    """Lambda keeps 100 of an account's concurrency unreserved, of 1,000 by default
    (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html, read 2026-12-03).
    Every function of the template that reserves concurrency is counted, from the template."""
    launch = overrides("launch")
    reservations = Counter(
        parameter for resource in source["Resources"].values()
        if resource.get("Type") == "AWS::Serverless::Function" and (parameter := reservation_parameter(resource))
    )
    assert set(reservations) == {"ReadPathReservedConcurrency", "OtherFunctionsReservedConcurrency",
                                 "EnrollReservedConcurrency"}
    reserved = sum(int(launch[parameter]) * functions for parameter, functions in reservations.items())
    assert reserved <= 1_000 - 100
