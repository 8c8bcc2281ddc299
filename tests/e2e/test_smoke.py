"""The post-deploy smoke test (``make smoke``), run against the local server.

The local server answers as the deployed stage does (gateway responses, CORS preflight,
authorizers, the cache), so every check must pass here; a wrong expectation of the stage
(a listed origin the preflight does not echo) must fail and be reported as such.
"""

from __future__ import annotations

import httpx
import pytest

from local.redis_server import start_elasticache_standin
from ops.smoke import Smoke, main, render
from tests.e2e.conftest import LocalApi, _environment, running_local_api
from tests.support.elasticache import E2E_KEY_PREFIX
from tests.support.services import LocalAuth, MotoEndpoint, free_port

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


def test_a_stage_whose_cache_refuses_the_functions_fails_and_says_why(
    moto_endpoint: MotoEndpoint, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a stage whose functions present the wrong token to the cache (a stand-in of this
    # test's own: its denials must not reach the session's audit), so every read is a BYPASS
    standin = start_elasticache_standin((E2E_KEY_PREFIX,))
    try:
        folder = tmp_path_factory.mktemp("refused")
        environment = _environment(free_port(), moto_endpoint.url, standin, folder / "auth-key.pem")
        environment.update(REDIS_PASSWORD="not-the-token", SEED_COURSES="3")
        with running_local_api(environment, folder / "server.log") as url:
            stage = LocalApi(url=url, dynamodb_endpoint=moto_endpoint.url, pool=LocalAuth.load(folder / "auth-key.pem"))
            code = main(["--url", url, "--token", stage.token("smoke-student"),
                         "--admin-token", stage.token("smoke-operator", "admins")])
    finally:
        standin.stop()

    # Then the smoke test fails on the cache checks and prints what /health says to an admin
    report = capsys.readouterr().out
    assert code == 1
    (no_hit,) = [line for line in report.splitlines() if line.startswith("GET /courses again is a cache HIT")]
    assert "FAIL" in no_hit
    assert "Redis is not serving" in no_hit or "no HIT in" in no_hit  # a near-cache HIT does not count
    assert '"cause": "denied"' in no_hit, no_hit
    assert "WRONGPASS" in no_hit or "invalid username-password" in no_hit, no_hit
