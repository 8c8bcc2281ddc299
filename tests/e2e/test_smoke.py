"""The post-deploy smoke test (``make smoke``), run against the local server.

The local server answers as the deployed stage does (gateway responses, CORS preflight,
authorizers, the cache), so every check must pass here; a wrong expectation of the stage
(a listed origin the preflight does not echo) must fail and be reported as such.
"""

from __future__ import annotations

import httpx

from ops.smoke import Smoke, main, render
from tests.e2e.conftest import LocalApi

LISTED_ORIGIN = "http://localhost:3000"  # the template's default AllowedOrigins


def test_every_smoke_check_passes_against_the_local_stage(local_api: LocalApi) -> None:
    with httpx.Client(base_url=local_api.url, timeout=30) as client:
        checks = Smoke(client, local_api.token("smoke-student"), origins=[LISTED_ORIGIN],
                       instructor_token=local_api.token("smoke-instructor", "instructors")).run()

    failures = [check for check in checks if not check.ok]
    assert not failures, render(checks)
    names = {check.name for check in checks}
    assert {"no token is 401", "wrong role is 403", "body over 10 MB is 413", "GET /courses again is a cache HIT",
            f"preflight from {LISTED_ORIGIN}", "DELETE deletes"} <= names


def test_a_failing_check_is_reported_and_fails_the_run(local_api: LocalApi, capsys: object) -> None:
    # Given an origin the stage does not list, which the operator believes it does
    code = main(["--url", local_api.url, "--token", local_api.token("smoke-student"),
                 "--origins", f"{LISTED_ORIGIN},https://not-listed.example"])

    report = capsys.readouterr().out  # type: ignore[attr-defined]
    assert code == 1
    assert "preflight from https://not-listed.example" in report
    failed_rows = [line for line in report.splitlines() if "  FAIL  " in line]
    assert len(failed_rows) == 1, report
    assert "Access-Control-Allow-Origin: None, expected 'https://not-listed.example'" in failed_rows[0]
    assert report.rstrip().endswith("1 failed")
