"""Cold start: a fresh interpreter imports a function and builds its clients.

What a Lambda "Init" does for our code, minus the runtime's own bootstrap: import the
handler module, then build what the first request needs (settings, DynamoDB client,
cache client, services). Measured in a new ``python`` process each time, median of
several; the bytecode cache is warm (a discarded first run compiles it), as it is for a
layer whose ``.pyc`` files are built in. ``-X importtime`` shows what dominates.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
LAYER = REPO_ROOT / "layers" / "shared"

OURS = """
import time
t0 = time.perf_counter()
import importlib.util
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
container = module.container
container.settings, container.dynamodb, container.cache, container.course_reads
print("COLD_START_MS", (time.perf_counter() - t0) * 1000)
"""

NAIVE = """
import time
t0 = time.perf_counter()
import benchmarks.naive_backend as naive
naive.get_client()
print("COLD_START_MS", (time.perf_counter() - t0) * 1000)
"""


def _environment(extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    env["PYTHONPATH"] = os.pathsep.join([str(LAYER), str(REPO_ROOT)])
    return env


def _run(code: str, env: dict[str, str], *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *flags, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        check=True, timeout=120,
    )


def _measure(code: str, env: dict[str, str], runs: int, discard_first: bool) -> list[float]:
    if discard_first:
        _run(code, env)  # compile and cache bytecode; not counted
    values = []
    for _ in range(runs):
        match = re.search(r"COLD_START_MS ([0-9.]+)", _run(code, env).stdout)
        if match is None:
            raise RuntimeError("cold-start probe printed no timing")
        values.append(float(match.group(1)))
    return values


def measure(function: str, env_extra: dict[str, str], runs: int = 7, *, discard_first: bool = True) -> dict[str, Any]:
    """Median cold start (ms) of ``functions/<function>`` and of the naive backend."""
    env = _environment(env_extra)
    ours = _measure(OURS.format(path=str(REPO_ROOT / "functions" / function / "app.py")), env, runs, discard_first)
    naive = _measure(NAIVE, env, runs, discard_first)
    return {
        "function": function,
        "runs": runs,
        "ours_ms": ours,
        "naive_ms": naive,
        "ours_median_ms": round(statistics.median(ours), 1),
        "naive_median_ms": round(statistics.median(naive), 1),
        "python": sys.version.split()[0],
    }


_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def import_profile(function: str, env_extra: dict[str, str], top: int = 12) -> list[dict[str, Any]]:
    """``python -X importtime``: import time by top-level package (sum of self times), largest first.

    Self times add up to the whole import time, so this says what dominates it; a
    package's share includes the module-level work its imports do (e.g. Powertools
    building its singletons, pydantic building model schemas).
    """
    env = _environment(env_extra)
    code = OURS.format(path=str(REPO_ROOT / "functions" / function / "app.py"))
    stderr = _run(code, env, "-X", "importtime").stderr
    packages: dict[str, int] = {}
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if match:
            package = match.group(4).split(".")[0]
            packages[package] = packages.get(package, 0) + int(match.group(1))
    total = sum(packages.values())
    ranked = sorted(packages.items(), key=lambda kv: -kv[1])[:top]
    rows = [{"package": name, "ms": round(us / 1000, 1)} for name, us in ranked]
    rows.append({"package": "(all imports)", "ms": round(total / 1000, 1)})
    return rows


def import_tree(function: str, env_extra: dict[str, str], prefixes: tuple[str, ...], min_ms: float = 5.0) -> list[
        dict[str, Any]]:
    """Every import (any depth) under ``prefixes`` costing at least ``min_ms`` cumulative."""
    env = _environment(env_extra)
    code = OURS.format(path=str(REPO_ROOT / "functions" / function / "app.py"))
    stderr = _run(code, env, "-X", "importtime").stderr
    found = []
    for line in stderr.splitlines():
        match = _LINE.match(line)
        if match and match.group(4).startswith(prefixes) and int(match.group(2)) >= min_ms * 1000:
            found.append({"module": match.group(4), "cumulative_ms": round(int(match.group(2)) / 1000, 1),
                          "self_ms": round(int(match.group(1)) / 1000, 1)})
    return sorted(found, key=lambda row: -float(row["cumulative_ms"]))
