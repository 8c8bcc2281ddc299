"""Schemathesis against the running local API: every phase, every check, zero findings.

The phases are examples, coverage (boundary and negative values of every parameter and
body field, undeclared methods and media types), fuzzing (generated requests) and
stateful (sequences that follow the document's links: create, read, enroll, delete).
Every check runs except those ``schemathesis.toml`` switches off, each with its reason.
The CLI is the runner: it is what a stranger would run against ``make run``.

``SCHEMATHESIS_MAX_EXAMPLES`` sets the examples per operation (a short run in
``make test``; ``make fuzz`` runs many more), ``SCHEMATHESIS_SEED`` the seed (fixed here,
so a failure in CI reproduces; ``make fuzz`` draws a new one each run).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import LocalApi

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
REPO_ROOT = Path(__file__).resolve().parents[2]
PHASES = "examples,coverage,fuzzing,stateful"


@pytest.mark.timeout(1800)  # the whole run is one test; make fuzz runs it long
def test_schemathesis_finds_nothing(local_api: LocalApi, tmp_path: Path) -> None:
    # An instructor and admin, so write operations get past auth and exercise their handlers.
    token = local_api.token("schemathesis-user", "instructors", "admins")
    command = [
        str(Path(sys.executable).with_name("schemathesis")), "run", f"{local_api.url}/openapi.json",
        "--phases", PHASES,
        "--max-examples", os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"),
        "--workers", "1",
        "--request-timeout", "30",
        "--generation-database", "none",
        "--header", f"Authorization: Bearer {token}",
        "--report", "junit", "--report-dir", str(tmp_path),
        "--no-color",
    ]
    seed = os.environ.get("SCHEMATHESIS_SEED", "20261202")
    if seed:
        command += ["--seed", seed]
    # Run from the repository root, where schemathesis.toml lives.
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=1800, check=False)
    report = f"{result.stdout[-20_000:]}\n{result.stderr[-4000:]}"
    assert result.returncode == 0, f"schemathesis reported findings:\n{report}"
