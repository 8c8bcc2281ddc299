"""Cold start: a fresh interpreter imports a function and builds its clients.

What a Lambda "Init" does for our code, minus the runtime's own bootstrap: import the
handler module, then build what the first request needs (settings, DynamoDB client,
cache client, services). The naive backend (``benchmarks/naive_backend.py``: boto3 and one
client) is measured in the same run, its runs interleaved with ours so that whatever else
loads the machine weighs on both alike. Each run is a new process; the bytecode cache is
warm (a discarded first run compiles it), as it is for a layer whose ``.pyc`` files are
built in. ``-X importtime`` shows what dominates.

The runtime is python3.13, so the figures are meant to come from a python3.13 interpreter:
``make bench`` and ``make bench-coldstart`` pass one (``COLD_START_PYTHON``), in a virtualenv
holding only the layer's requirements, as the Lambda layer does. When given a Redis URL and
a DynamoDB endpoint with data, each run also serves one ``GET /courses/{id}`` (the first
request after init), for both backends, so that work moved from init into the first
request shows up too.

    python -m benchmarks.coldstart                 # measure; update latest.json and the docs section
    python -m benchmarks.coldstart --no-write      # only print
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
LAYER = REPO_ROOT / "layers" / "shared"
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
DOCS_FILE = REPO_ROOT / "docs" / "BENCHMARKS.md"
PYTHON_ENV = "COLD_START_PYTHON"  # interpreter to measure with (default: the one running this)
RUNTIME = "3.13"  # the functions' runtime (template.yaml)
GOAL_MS = 300.0
GOAL_RATIO = 1.5
SECTION_TITLE = "## Cold start"
SECTION_FOLLOWED_BY = "## Where the best tier"  # the next section of docs/BENCHMARKS.md

# Environment of a measured container outside `make bench` (tables, endpoint and Redis URL are
# added by the services the standalone run starts).
STANDALONE_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "courses-api",
    "POWERTOOLS_METRICS_NAMESPACE": "CoursesApi",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_DEV": "false",
    "CURSOR_SECRET": secrets.token_urlsafe(32),  # required and strong; fresh per run
    "COURSES_TABLE": "courses",
    "ENROLLMENTS_TABLE": "enrollments",
    "DYNAMODB_ENDPOINT": "http://127.0.0.1:1",
    "REDIS_URL": "redis://127.0.0.1:1/0",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}

_PROBE = """
import json, sys, time
t0 = time.perf_counter()
c0 = time.process_time()
{init}
init_ms = (time.perf_counter() - t0) * 1000
init_cpu_ms = (time.process_time() - c0) * 1000
result = {{"init_ms": init_ms, "init_cpu_ms": init_cpu_ms}}
event = json.loads(sys.argv[1]) if len(sys.argv) > 1 else None
if event is not None:
    class Context:
        function_name = "cold-start"
        memory_limit_in_mb = 512
        invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:cold-start"
        aws_request_id = "cold-start-request"
        function_version = "$LATEST"
        def get_remaining_time_in_millis(self):
            return 10_000
    t1 = time.perf_counter()
    response = handler(event, Context())
    result["first_request_ms"] = (time.perf_counter() - t1) * 1000
    result["status"] = response["statusCode"]
print("COLD_START", json.dumps(result))
"""

# Ours: import the function module, which runs what an on-demand Lambda init runs
# (lifecycle.prime: build_clients; the explicit call below then finds them built), plus the read service.
OURS_INIT = """
import importlib.util
spec = importlib.util.spec_from_file_location("app", {path!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
container = module.container
container.build_clients()
container.course_reads
handler = module.lambda_handler
"""

# Naive: import the module and build its one client.
NAIVE_INIT = """
import benchmarks.naive_backend as naive
naive.get_client()
handler = naive.lambda_handler
"""

# The frameworks' share: what any function built on Powertools' validating REST resolver,
# its Logger and Metrics, and pydantic loads, plus the naive backend's boto3 client; no
# code of ours. The part of our cold start above it is the layer's.
FLOOR_INIT = """
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Path
from pydantic import BaseModel
app = APIGatewayRestResolver(enable_validation=True)
logger, metrics = Logger(), Metrics()
import benchmarks.naive_backend as naive
naive.get_client()
"""

_RESULT = re.compile(r"^COLD_START (\{.*\})$", re.MULTILINE)
_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)")


def interpreter(explicit: str | None = None) -> str:
    """The Python to measure with: ``explicit``, else ``$COLD_START_PYTHON``, else this one."""
    return explicit or os.environ.get(PYTHON_ENV) or sys.executable


def python_version(python: str) -> str:
    """``X.Y.Z`` of ``python``."""
    out = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                         capture_output=True, text=True, check=True, timeout=60)
    return out.stdout.strip()


# Every probe runs as an on-demand Lambda init: ``lifecycle.prime`` then builds the clients
# while the function module is imported, and the module's end ends the init, as in Lambda
# (without it, the clients were built after the import, outside what the layer treats as init).
LAMBDA_INIT = {"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand"}


def _environment(extra: dict[str, str]) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(extra)
    env.update(LAMBDA_INIT)
    env["PYTHONPATH"] = os.pathsep.join([str(LAYER), str(REPO_ROOT)])
    return env


def _probe(python: str, init: str, env: dict[str, str], event: dict[str, Any] | None,
           *flags: str) -> subprocess.CompletedProcess[str]:
    argv = [python, *flags, "-c", _PROBE.format(init=init)]
    if event is not None:
        argv.append(json.dumps(event))
    return subprocess.run(argv, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True, timeout=120)


def _parse(completed: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    match = _RESULT.search(completed.stdout)
    if match is None:
        raise RuntimeError(f"cold-start probe printed no timing: {completed.stdout!r} {completed.stderr[-2000:]!r}")
    parsed: dict[str, Any] = json.loads(match.group(1))
    return parsed


def _ours_init(function: str) -> str:
    return OURS_INIT.format(path=str(REPO_ROOT / "functions" / function / "app.py"))


def spread(values: list[float]) -> dict[str, float]:
    """Median, min, max and the quartiles of ``values`` (ms, one decimal)."""
    ordered = sorted(values)
    quartiles = statistics.quantiles(ordered, n=4) if len(ordered) > 1 else [ordered[0]] * 3
    return {
        "median": round(statistics.median(ordered), 1),
        "min": round(ordered[0], 1),
        "p25": round(quartiles[0], 1),
        "p75": round(quartiles[2], 1),
        "max": round(ordered[-1], 1),
    }


def measure(function: str, env_extra: dict[str, str], runs: int = 7, *, discard_first: bool = True,
            python: str | None = None, event: dict[str, Any] | None = None) -> dict[str, Any]:
    """Cold start (ms) of ``functions/<function>`` and of the naive backend, ``runs`` each, interleaved.

    With ``event``, each run also serves that request once, after init (a real
    DynamoDB and Redis must then be behind ``env_extra``). The discarded first run fills
    the shared cache, so the measured first requests find it warm, as a new container
    joining running ones does.
    """
    python = interpreter(python)
    env = _environment(env_extra)
    backends = {"ours": _ours_init(function), "naive": NAIVE_INIT, "floor": FLOOR_INIT}
    events = {"ours": event, "naive": event, "floor": None}
    if discard_first:  # compile and cache bytecode (and fill the shared cache): not counted
        for name, init in backends.items():
            _probe(python, init, env, events[name])
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in backends}
    for _ in range(runs):
        for name, init in backends.items():
            samples[name].append(_parse(_probe(python, init, env, events[name])))
    version = python_version(python)
    result: dict[str, Any] = {
        "function": function,
        "runs": runs,
        "python": version,
        "runtime_python": version.startswith(RUNTIME + "."),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
    }
    for name, rows in samples.items():
        wall = [row["init_ms"] for row in rows]
        result[f"{name}_ms"] = [round(value, 1) for value in wall]
        result[f"{name}_median_ms"] = round(statistics.median(wall), 1)
        result[f"{name}_spread_ms"] = spread(wall)
        result[f"{name}_cpu_spread_ms"] = spread([row["init_cpu_ms"] for row in rows])
        if events[name] is not None:
            result[f"{name}_first_request_spread_ms"] = spread([row["first_request_ms"] for row in rows])
            result[f"{name}_init_plus_first_request_spread_ms"] = spread(
                [row["init_ms"] + row["first_request_ms"] for row in rows])
            result[f"{name}_first_request_status"] = sorted({row["status"] for row in rows})
    result["ratio"] = round(result["ours_median_ms"] / result["naive_median_ms"], 2)
    result["floor_ratio"] = round(result["floor_median_ms"] / result["naive_median_ms"], 2)
    return result


def _importtime(function: str, env_extra: dict[str, str], python: str | None) -> str:
    return _probe(interpreter(python), _ours_init(function), _environment(env_extra), None, "-X", "importtime").stderr


def import_profile(function: str, env_extra: dict[str, str], top: int = 12, *,
                   python: str | None = None, runs: int = 5) -> list[dict[str, Any]]:
    """``python -X importtime``: import time by top-level package (sum of self times), largest first.

    Self times add up to the whole import time, so this says what dominates it; a
    package's share includes the module-level work its imports do (e.g. Powertools
    building its singletons, pydantic building model schemas). Each package's figure is
    the least of ``runs`` runs, which keeps what other processes do to the machine out of it.
    """
    best: dict[str, int] = {}
    for _ in range(runs):
        packages: dict[str, int] = {}
        for line in _importtime(function, env_extra, python).splitlines():
            match = _LINE.match(line)
            if match:
                package = match.group(4).split(".")[0]
                packages[package] = packages.get(package, 0) + int(match.group(1))
        for package, us in packages.items():
            best[package] = min(best.get(package, us), us)
    total = sum(best.values())
    ranked = sorted(best.items(), key=lambda kv: -kv[1])[:top]
    rows = [{"package": name, "ms": round(us / 1000, 1)} for name, us in ranked]
    rows.append({"package": "(all imports)", "ms": round(total / 1000, 1)})
    return rows


def import_tree(function: str, env_extra: dict[str, str], prefixes: tuple[str, ...], min_ms: float = 5.0, *,
                python: str | None = None) -> list[dict[str, Any]]:
    """Every import (any depth) under ``prefixes`` costing at least ``min_ms`` cumulative."""
    found = []
    for line in _importtime(function, env_extra, python).splitlines():
        match = _LINE.match(line)
        if match and match.group(4).startswith(prefixes) and int(match.group(2)) >= min_ms * 1000:
            found.append({"module": match.group(4), "cumulative_ms": round(int(match.group(2)) / 1000, 1),
                          "self_ms": round(int(match.group(1)) / 1000, 1)})
    return sorted(found, key=lambda row: -float(row["cumulative_ms"]))


def artifact_summary(cold: dict[str, Any]) -> dict[str, Any]:
    """The ``cold_start_artifact_ms`` entry of ``latest.json`` (medians of the built artifact's inits)."""
    artifact = cold.get("artifact")
    if not artifact:
        return {"ours": None, "naive": None, "bytecode_shipped": None}
    return dict(artifact["results"])


def measure_artifact(cold: dict[str, Any], env: dict[str, str], event: dict[str, Any], runs: int) -> None:
    """Add the built artifact's cold starts (``benchmarks.coldstart_artifact``) to ``cold["artifact"]``."""
    from benchmarks import coldstart_artifact
    from local.auth import LocalAuth

    # No Lambda authorizer runs: a token's cost is GetCourseFunction's own check (lazy imports, one verify).
    pool = LocalAuth.generate()
    signed = {**event, "headers": {**event["headers"], "Authorization": f"Bearer {pool.mint('owner')}"}}
    cold["artifact"] = coldstart_artifact.measure(
        {**env, **LAMBDA_INIT}, event, runs=runs, authorizer_env={**env, **LAMBDA_INIT, **pool.environment()},
        authorizer_event=signed,
    )


def artifact_section(cold: dict[str, Any]) -> str:
    """The built artifact's part of the cold-start section (empty when it was not measured)."""
    artifact = cold.get("artifact")
    if not artifact:
        return ""
    details = artifact["details"]
    rows = {"ours": "ours (`GetCourseFunction`)", "naive": "naive backend, built the same way",
            "authorizer": "ours with a bearer token (the in-function check: imports, then verifies)",
            "ours_without_bytecode": "ours, the same build without its `.pyc` files"}
    table = "\n".join(
        f"| {label} | {_spread_text(details['summary'][name]['init_ms'])} |"
        f" {_spread_text(details['summary'][name]['first_request_ms'])} |"
        for name, label in rows.items() if name in details["summary"]
    )
    ratio = details["ratio_ours_to_naive"]
    total = details.get("ratio_init_plus_first_request")
    summary = details["summary"]
    total_note = "" if total is None else (
        f" The naive backend builds its DynamoDB client on its first request, ours during init (where SnapStart"
        f" captures it): init plus first request is {_spread_text(summary['ours']['init_plus_first_request_ms'])} ms"
        f" against {_spread_text(summary['naive']['init_plus_first_request_ms'])} ms, {total['of_medians']:.2f} x"
        f" ({total['min']:.2f}-{total['max']:.2f} pair by pair)."
    )
    layer = details["bytecode"]["layer"]
    load = "" if "load_average_1m" not in details else (
        f" Load average (1 min) at the end of these runs: {details['load_average_1m']} on {details['cpus']} CPUs"
        " (other work on the machine lengthens the longer init more, so the ratio grows with the load).")
    ending = ("met" if ratio["of_medians"] <= GOAL_RATIO else "**missed**") + "." + total_note + load
    return f"""
### The built artifact, run as Lambda runs it

`sam build` of the template (for this machine's architecture, {details['architecture']}: the same locked versions,
this platform's wheels), each function started by the SAM CLI's runtime interface emulator (`{details['emulator']}`)
with `awslambdaric` as its bootstrap, the layer where `/opt/python` would be and no bytecode written at run time
(`/opt` and `/var/task` are read-only in Lambda). The figure is the emulator's `INIT REPORT` duration (runtime
start, client, handler import and init), then the first request's duration. {details['runs']} runs of each,
interleaved; median (min-max), ms:

| function | init | first request |
|---|---:|---:|
{table}

The built layer ships {layer['with_pyc']} `.pyc` files for its {layer['py_files']} `.py` files (unchecked-hash,
Python 3.13); every function its own. **Goal** ≤ {GOAL_RATIO} x the naive backend built and run the same way: ours
= {ratio['of_medians']:.2f} x naive at the medians ({ratio['min']:.2f}-{ratio['max']:.2f} pair by pair): {ending}
"""


def summary(cold: dict[str, Any]) -> dict[str, Any]:
    """The ``cold_start_ms`` entry of ``latest.json``."""
    return {"ours": cold["ours_median_ms"], "naive": cold["naive_median_ms"], "python": cold["python"]}


def goal_met(cold: dict[str, Any]) -> bool:
    """≤ 300 ms and ≤ 1.5 x naive, medians of the same run."""
    return bool(cold["ours_median_ms"] <= GOAL_MS and cold["ours_median_ms"] <= GOAL_RATIO * cold["naive_median_ms"])


def _spread_text(figures: dict[str, float]) -> str:
    return f"{figures['median']:.0f} ({figures['min']:.0f}-{figures['max']:.0f})"


def _cell(cold: dict[str, Any], key: str) -> str:
    return _spread_text(cold[key]) if key in cold else "-"


def _floor_note(cold: dict[str, Any]) -> str:
    """What the frameworks alone take, by CPU time (steadier than wall time on a shared machine)."""
    if "floor_cpu_spread_ms" not in cold:
        return ""
    ours, naive, floor = (cold[f"{name}_cpu_spread_ms"]["median"] for name in ("ours", "naive", "floor"))
    out_of_reach = ", so 1.5 x naive is out of reach while the functions use these frameworks" if (
        floor > GOAL_RATIO * naive) else ""
    return (f" By CPU time, the frameworks alone (the floor: Powertools' validating resolver, Logger, Metrics and"
            f" pydantic over the naive client) take {floor:.0f} ms = {floor / naive:.2f} x naive, and ours"
            f" {ours:.0f} ms = {ours / naive:.2f} x naive: the layer's own code adds {ours - floor:.0f} ms above the"
            f" floor{out_of_reach}.")


def _load_note(cold: dict[str, Any]) -> str:
    load, cpus = cold["load_average_1m"], cold.get("cpus") or 1
    if load <= cpus:
        return f" Load average (1 min) at the end of the run: {load} on {cpus} CPUs."
    return (f" **The run shared {cpus} CPUs with other work (load average {load})**: wall times include waiting for"
            " a CPU and overstate an idle machine's several times over; CPU times and the ratios between the three"
            " columns, measured side by side, are the figures to compare. `make bench-coldstart` reruns it.")


def markdown_section(cold: dict[str, Any]) -> str:
    """The "Cold start" section of ``docs/BENCHMARKS.md``, from the details of one measurement."""
    rows = [
        ("imports + client set-up, wall (the goal's figure)", "spread_ms"),
        ("the same, CPU time", "cpu_spread_ms"),
        ("first `GET /courses/{id}` after init", "first_request_spread_ms"),
        ("init + first request, wall", "init_plus_first_request_spread_ms"),
    ]
    table = "\n".join(
        f"| {label} | {_cell(cold, 'ours_' + key)} | {_cell(cold, 'naive_' + key)} | {_cell(cold, 'floor_' + key)} |"
        for label, key in rows if f"ours_{key}" in cold
    )
    imports = "\n".join(f"| `{row['package']}` | {row['ms']} |" for row in cold.get("imports", []))
    ours, naive = cold["ours_median_ms"], cold["naive_median_ms"]
    verdict = "met" if goal_met(cold) else "**missed**"
    gap = "" if goal_met(cold) else (
        f" It misses by {max(0.0, ours - GOAL_MS):.0f} ms against {GOAL_MS:.0f} ms and by"
        f" {max(0.0, ours - GOAL_RATIO * naive):.0f} ms against {GOAL_RATIO} x naive." + _floor_note(cold))
    runtime_note = "" if cold.get("runtime_python", True) else (
        f"\n\n**Measured on Python {cold['python']}, not the runtime's {RUNTIME}** (no python{RUNTIME} was found).")
    return f"""{SECTION_TITLE}

_Measured by `make bench-coldstart` (also part of `make bench`); Python {cold['python']}, the functions' runtime
is {RUNTIME}._ A fresh process imports `functions/{cold['function']}/app.py` and runs what an on-demand Lambda
init runs (`Container.build_clients`: settings, the DynamoDB client, the cache), then builds the read service.
The naive backend imports boto3 and builds its one client; the **floor** imports what any function built on
the same frameworks loads (Powertools' validating REST resolver, Logger and Metrics, pydantic) and the naive
client, with no code of ours. {cold['runs']} runs of each, interleaved in one run so that machine load weighs on
all three alike; bytecode precompiled, as in a layer. Median (min-max), ms:{runtime_note}

| figure | ours | naive | floor |
|---|---:|---:|---:|
{table}

**Goal** ≤ {GOAL_MS:.0f} ms and ≤ {GOAL_RATIO} x naive: ours {ours:.0f} ms = {cold['ratio']:.2f} x naive
({naive:.0f} ms): {verdict}.{gap}{_load_note(cold)}
{artifact_section(cold)}
How it gets there:

- **No X-Ray SDK** (about 100 ms) unless `TRACE_SUBSEGMENTS=true` asks for subsegments: with the template's
  `Tracing: Active`, Lambda records each invocation (init, invocation, overhead) and API Gateway's trace id
  without any SDK in the function; the Powertools Tracer, which imports the SDK, is built only when asked for.
- **Each part is imported when it is first built** (`Container`): a read function never loads the write path,
  enrollments, idempotency or the stream code; a container without Redis never loads redis-py.
- **redis-py loads with the Redis client**, on the first cache call (the client is created there anyway:
  `RedisCluster` connects in its constructor). The first-request row includes it. In inits that run ahead of
  requests (SnapStart, provisioned concurrency) it is loaded during init (`Container.warm`), so restored and
  provisioned environments never pay it; `SnapStart` stays on in prod.
- **Models build their schemas on first use** (`defer_build`): a function builds only the models its route uses.
- **Powertools' re-exporting packages load name by name** (`courses_api/http/reexports.py`): importing
  `aws_lambda_powertools.event_handler` otherwise imports every resolver it has (the AppSync one pulls in
  asyncio), and `utilities.data_classes` some thirty event classes. The names and objects are Powertools' own;
  a package whose `__init__` does more than re-export is imported as usual.
- **The garbage collector waits for the end of init** (`lifecycle.pause_collection`, `end_init`): an init
  allocates hundreds of thousands of objects that live as long as the container; collecting them dozens of
  times frees nothing, so init runs without it and freezes them (`gc.freeze`) before it resumes. Only inside
  Lambda (`AWS_LAMBDA_INITIALIZATION_TYPE` set), never in tests or `make run`.
- **botocore, not boto3** (`data/dynamo.py`): importing any part of boto3, even `boto3.dynamodb.types`, runs its
  package `__init__`, which loads s3transfer and its thread and process pools (about 15 ms); the client is
  botocore's and the AttributeValue codec is the layer's own, with boto3's rules.
- **botocore's data holds only the services the layer calls** (`layers/shared/trim_botocore.py`, run by the layer
  build): every client parses `endpoints.json`, 1.2 MB of every service's endpoints (about 11 ms), cut to the
  entries of DynamoDB, Secrets Manager and STS; the other 440-odd service models go too (a smaller layer to fetch).
  From sources (tests, `make run`) the client's loader skips listing some 400 service folders (`DynamoDBOnlyLoader`).
- **The Secrets Manager client is built on the first cursor read** (`data/cursors.py`): a function that never
  pages (`GET /courses/{{id}}`) never loads Powertools Parameters, boto3 or that client.
- **Read units are DynamoDB's own figure** (`data/capacity.py`): nothing is sized per call in AWS; the sizing rules
  that stand in for moto's fake figures live with the tests and benchmarks (`benchmarks/metering.py`).
- The floor has none of these, which is why the product now starts faster than the frameworks' plain floor.

Where the product's import time goes (`python -X importtime`, self time summed per top-level package, the least
of 5 runs):

| package | ms |
|---|---:|
{imports}
"""


def replace_section(document: str, section: str) -> str:
    """``document`` with its cold-start section replaced by ``section``.

    Without one, the section goes where ``make bench`` puts it: after the cache mechanics.
    """
    start = document.find(SECTION_TITLE + "\n")
    if start < 0:
        following = document.find(SECTION_FOLLOWED_BY)
        if following < 0:
            return document.rstrip("\n") + "\n\n" + section
        return document[:following] + section + "\n" + document[following:]
    end = document.find("\n## ", start + len(SECTION_TITLE))
    tail = document[end + 1:] if end >= 0 else ""
    return document[:start] + section + ("\n" + tail if tail else "")


def write(cold: dict[str, Any], results_dir: Path = RESULTS_DIR, docs_file: Path = DOCS_FILE) -> None:
    """Put ``cold`` into ``latest.json``, ``latest-details.json`` and the docs section, leaving the rest."""
    for name, key, value in (("latest.json", "cold_start_ms", summary(cold)),
                             ("latest.json", "cold_start_artifact_ms", artifact_summary(cold)),
                             ("latest-details.json", "cold_start", cold)):
        path = results_dir / name
        document = json.loads(path.read_text()) if path.exists() else {}
        document[key] = value
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2) + "\n")
    if docs_file.exists():
        docs_file.write_text(replace_section(docs_file.read_text(), markdown_section(cold)))


@contextmanager
def _services() -> Iterator[tuple[dict[str, str], dict[str, Any]]]:
    """moto with a few seeded courses and a redis-server: the environment and a ``GET /courses/{id}``."""
    for path in (str(LAYER), str(REPO_ROOT)):
        if path not in sys.path:
            sys.path.insert(0, path)
    from benchmarks.dataset import DatasetSpec, generate, seed
    from benchmarks.workload import build_event
    from local.aws import create_tables, dynamodb_client, start_moto
    from local.redis_server import start_redis_server

    moto = start_moto()
    redis_server = None
    try:
        tables = create_tables(moto.url, prefix="cold-")
        data = generate(DatasetSpec(courses=50, enrollments=50, users=50, instructors=10, categories=8))
        seed(dynamodb_client(moto.url), tables, data)
        redis_server = start_redis_server()
        env = {**STANDALONE_ENVIRONMENT, **tables, "DYNAMODB_ENDPOINT": moto.url, "REDIS_URL": redis_server.url,
               "CACHE_KEY_PREFIX": "cold"}
        yield env, build_event("get_course", path_parameters={"course_id": data.published_ids[0]})
    finally:
        if redis_server is not None:
            redis_server.stop()
        moto.stop()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--function", default="get_course")
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_COLD_START_RUNS", "7")))
    parser.add_argument("--python", default=None, help=f"interpreter to measure with (default ${PYTHON_ENV})")
    parser.add_argument("--no-write", action="store_true", help="print only; leave results and docs alone")
    parser.add_argument("--no-artifact", action="store_true",
                        help="skip the sam build artifact under the runtime interface emulator")
    args = parser.parse_args(argv)
    python = interpreter(args.python)
    with _services() as (env, event):
        cold = measure(args.function, env, runs=args.runs, python=python, event=event)
        cold["imports"] = import_profile(args.function, env, python=python)
        if not args.no_artifact:
            measure_artifact(cold, env, event, args.runs)
    from benchmarks.bill import measure_token_check_cold  # no authorizer: a token's cold cost is its first check
    cold["token_check_ms"] = measure_token_check_cold(args.runs, python)
    print(f"first token check in a fresh process (import + verify, median, min-max ms): {cold['token_check_ms']}")
    if not cold["runtime_python"]:
        print(f"note: measured on Python {cold['python']}, not the runtime's {RUNTIME}")
    print(f"cold start, Python {cold['python']}, {args.runs} runs (median, min-max ms): "
          f"ours {_spread_text(cold['ours_spread_ms'])}, naive {_spread_text(cold['naive_spread_ms'])}, "
          f"floor {_spread_text(cold['floor_spread_ms'])}; ours = {cold['ratio']:.2f} x naive; "
          f"goal <= {GOAL_MS:.0f} ms and <= {GOAL_RATIO} x naive: {'met' if goal_met(cold) else 'missed'}")
    first = {name: _spread_text(cold[f"{name}_init_plus_first_request_spread_ms"]) for name in ("ours", "naive")}
    print(f"init + first request (median, min-max ms): ours {first['ours']}, naive {first['naive']}")
    if cold.get("artifact"):
        built = cold["artifact"]["details"]["summary"]
        print("built artifact under the emulator, init (median, min-max ms): "
              + ", ".join(f"{name} {_spread_text(figures['init_ms'])}" for name, figures in built.items()))
    if not args.no_write:
        write(cold)
        print(f"wrote {RESULTS_DIR / 'latest.json'} (cold_start_ms) and the cold-start section of {DOCS_FILE.name}")
    return cold


if __name__ == "__main__":
    main()
