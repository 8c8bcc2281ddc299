"""An anonymous cold start does not pay for token verification: PyJWT and cryptography load on the first token.

A fresh interpreter imports ``functions/get_course/app.py`` as a new Lambda container does,
resolves the caller of an anonymous request the way its handler does, lists the modules
loaded, then resolves a request carrying a valid ID token.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pytest_socket import enable_socket

from local.auth import LocalAuth

REPO_ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
from courses_api.http.caller import caller_from_event
heavy = lambda: sorted(name for name in sys.modules if name.split(".")[0] in ("jwt", "cryptography"))
anonymous = caller_from_event({"headers": {"Accept": "application/json"}, "requestContext": {}}, from_token=True)
before = heavy()
signed = caller_from_event({"headers": {"Authorization": "Bearer " + os.environ["TOKEN"]}, "requestContext": {}},
                           from_token=True)
print(json.dumps({"anonymous": anonymous.user_id, "before": before, "signed": signed.user_id, "after": heavy()}))
"""


def test_only_a_token_loads_the_verifier_libraries() -> None:
    enable_socket()  # the subprocess pipe
    pool = LocalAuth.generate()
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.update({"PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "layers" / "shared"), str(REPO_ROOT)]),
                "COURSES_TABLE": "courses", "ENROLLMENTS_TABLE": "enrollments", "AWS_REGION": "us-east-1",
                "REDIS_URL": "", "TOKEN": pool.mint("owner-1", ["instructors"]), **pool.environment()})
    output = subprocess.run([sys.executable, "-c", PROBE, str(REPO_ROOT / "functions" / "get_course" / "app.py")],
                            env=env, capture_output=True, text=True, check=True, timeout=60).stdout
    found = json.loads(output.strip().splitlines()[-1])
    assert found["anonymous"] is None
    assert found["before"] == [], "an anonymous request loaded PyJWT or cryptography"
    assert found["signed"] == "owner-1"
    assert "jwt" in found["after"]
    assert "cryptography" in found["after"]
