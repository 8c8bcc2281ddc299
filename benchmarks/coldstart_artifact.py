"""Cold start of what ``sam build`` produces, run the way Lambda runs it.

:mod:`benchmarks.coldstart` times imports in a plain interpreter. This module builds the
template with ``sam build`` (the layer's and the JWKS custom resource's Makefile builds: locked
wheels and Python 3.13 bytecode; the other functions by SAM's Python builder, then the same
bytecode step ``make sam-build`` and ``make deploy`` run) and starts each function under
the runtime interface emulator the SAM CLI package ships (``aws-lambda-rie``) with AWS's
runtime interface client (``awslambdaric``) as the bootstrap, the layer on ``PYTHONPATH``
where ``/opt/python`` would be, and no bytecode written at run time (``/opt`` and
``/var/task`` are read-only in Lambda). The figure is the emulator's own ``INIT REPORT``
duration: the runtime's start, the client's, the handler module's import and what it runs
at init. Each run is a new emulator and a new interpreter; one request follows each init.

The artifact is built for this machine's architecture (the template's ``arm64`` becomes
``x86_64`` on an x86_64 machine; the layer then installs x86_64 wheels of the same locked
versions), since a native wheel only runs where it was built for. The naive backend
(``benchmarks/naive_backend.py``) is added to the same template as one more function on the
same layer, so it is built, compiled and run the same way. Its runs, ours,
ours with a bearer token and ours with the bytecode removed (what a build without it ships) alternate,
so that machine load weighs on all alike.

Run by ``make bench-coldstart`` (``benchmarks.coldstart``) and ``make bench``.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = REPO_ROOT / "template.yaml"
NAIVE_SOURCE = REPO_ROOT / "benchmarks" / "naive_backend.py"
RIC_PYTHON_ENV = "RIC_PYTHON"  # a Python 3.13 with awslambdaric (make bench-coldstart: .venv-ric)
SAM_ENV = "SAM_CLI"  # the sam executable (make: .venv-sam/bin/sam)
PY313_ENV = "PY313_BIN"  # folder of the python3.13 sam build and the bytecode step use
INIT_REPORT = re.compile(r"INIT REPORT\(durationMs: ([0-9.]+)\)")
INVOKE_DONE = re.compile(r"INVOKE RTDONE\(status: (\w+),.*?duration: ([0-9.]+)ms\)")
FUNCTIONS = {
    # name: (build folder, handler)
    "ours": ("GetCourseFunction", "app.lambda_handler"),
    "naive": ("NaiveBackendFunction", "naive_backend.lambda_handler"),
    "authorizer": ("GetCourseFunction", "app.lambda_handler"),  # with a token: the in-function check
}


def machine_arch() -> tuple[str, str]:
    """``(Lambda architecture, wheel platform machine)`` of this machine."""
    machine = platform.machine().lower()
    return ("arm64", "aarch64") if machine in ("aarch64", "arm64") else ("x86_64", "x86_64")


def _tool(env_name: str, default: Path) -> str:
    value = os.environ.get(env_name)
    return value if value else str(default)


def emulator() -> Path:
    """``aws-lambda-rie`` for this machine, from the SAM CLI package."""
    sam = Path(_tool(SAM_ENV, REPO_ROOT / ".venv-sam" / "bin" / "sam"))
    arch = machine_arch()[0]
    pattern = f"python3*/site-packages/samcli/local/rapid/aws-lambda-rie-{arch}"
    found = sorted((sam.resolve().parent.parent / "lib").glob(pattern))
    if not found:
        raise FileNotFoundError(f"no aws-lambda-rie-{arch} in the SAM CLI package beside {sam}")
    return found[0]


def build(out: Path) -> Path:
    """``sam build`` of the template (for this machine) plus the naive backend; returns the build folder."""
    arch, wheel_machine = machine_arch()
    work = out / "src"
    naive = work / "naive"
    naive.mkdir(parents=True, exist_ok=True)
    shutil.copy2(NAIVE_SOURCE, naive / "naive_backend.py")
    text = TEMPLATE.read_text(encoding="utf-8").replace("arm64", arch)
    naive_resource = (
        "  NaiveBackendFunction:\n    Type: AWS::Serverless::Function\n    Properties:\n"
        f"      CodeUri: {naive}\n      Handler: naive_backend.lambda_handler\n\n"
    )
    if "\nResources:\n" not in text:
        raise ValueError("template.yaml has no top-level Resources section")
    text = text.replace("\nResources:\n", "\nResources:\n" + naive_resource, 1)
    template = work / "template.yaml"
    template.write_text(text, encoding="utf-8")
    build_dir = out / "build"
    py313 = os.environ.get(PY313_ENV, "")
    env = {
        **os.environ,
        "LAMBDA_ARCH": wheel_machine,
        "SAM_CLI_TELEMETRY": "0",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
        "PATH": os.pathsep.join(p for p in (py313, os.environ.get("PATH", "")) if p),
    }
    sam = _tool(SAM_ENV, REPO_ROOT / ".venv-sam" / "bin" / "sam")
    subprocess.run(
        [
            sam,
            "build",
            "--parallel",
            "--template",
            str(template),
            "--base-dir",
            str(REPO_ROOT),
            "--build-dir",
            str(build_dir),
        ],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=900,
    )
    compile_functions(build_dir, shutil.which("python3.13", path=env["PATH"]) or "python3.13")
    return build_dir


def compile_functions(build_dir: Path, python: str) -> None:
    """The bytecode step of ``make sam-build`` / ``make deploy``: unchecked-hash Python 3.13 .pyc files
    of every function (the layer builds its own), each recorded under ``/var/task`` as Lambda places it."""
    for folder in sorted(p for p in build_dir.iterdir() if p.is_dir() and p.name != "SharedLayer"):
        subprocess.run(
            [
                python,
                "-m",
                "compileall",
                "-q",
                "-j",
                "0",
                "--invalidation-mode",
                "unchecked-hash",
                "-s",
                str(folder),
                "-p",
                "/var/task",
                str(folder),
            ],
            check=True,
            timeout=600,
        )


def bytecode_coverage(folder: Path) -> dict[str, int]:
    """``.py`` files under ``folder`` and how many have a Python 3.13 ``.pyc`` beside them."""
    sources = [p for p in folder.rglob("*.py") if "__pycache__" not in p.parts]
    compiled = sum(1 for p in sources if (p.parent / "__pycache__" / f"{p.stem}.cpython-313.pyc").exists())
    return {"py_files": len(sources), "with_pyc": compiled}


def without_bytecode(build_dir: Path, out: Path) -> Path:
    """A copy of the build with every ``__pycache__`` removed (what a build without bytecode ships)."""
    target = out / "build-no-bytecode"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(build_dir, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, deadline_s: float) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.01)
    raise TimeoutError(f"the emulator did not listen on {port} within {deadline_s} s")


def run_once(
    build_dir: Path, name: str, env: dict[str, str], event: dict[str, Any], ric_python: str, rie: Path
) -> dict[str, Any]:
    """One cold start under the emulator: its init duration, the first request's, and the status."""
    folder, handler = FUNCTIONS[name]
    task_root = build_dir / folder
    layer = build_dir / "SharedLayer" / "python"
    port = _free_port()
    run_env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": tempfile.gettempdir(),
        "LANG": "C.UTF-8",
        "LAMBDA_TASK_ROOT": str(task_root),
        "PYTHONPATH": os.pathsep.join([str(task_root), str(layer)]),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_FUNCTION_NAME": folder,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        # Lambda hands a function its role's credentials in the environment; moto takes any.
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        **env,
    }
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(
            [
                str(rie),
                "--runtime-interface-emulator-address",
                f"127.0.0.1:{port}",
                ric_python,
                "-m",
                "awslambdaric",
                handler,
            ],
            cwd=task_root,
            env=run_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            _wait_listening(port, 10)
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations",
                data=json.dumps(event).encode(),
                method="POST",
            )
            with urllib.request.urlopen(request, timeout=60) as response:
                answer = json.loads(response.read() or b"null")
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
        log.seek(0)
        output = log.read()
    init = INIT_REPORT.search(output)
    done = INVOKE_DONE.search(output)
    if init is None or done is None:
        raise RuntimeError(f"{name}: no INIT REPORT / INVOKE RTDONE in the emulator's log:\n{output[-3000:]}")
    status = answer.get("statusCode") if isinstance(answer, dict) else None
    if not isinstance(status, int):  # the runtime client's error document: the handler did not load or raised
        raise RuntimeError(f"{name}: the first request answered {answer!r}")
    return {"init_ms": float(init.group(1)), "first_request_ms": float(done.group(2)), "status": status}


def _spread(values: list[float], digits: int = 1) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": round(statistics.median(ordered), digits), "min": round(ordered[0], digits),
            "max": round(ordered[-1], digits)}


def measure(
    env: dict[str, str],
    event: dict[str, Any],
    *,
    runs: int = 7,
    out: Path | None = None,
    authorizer_env: dict[str, str] | None = None,
    authorizer_event: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Build, then ``runs`` cold starts of each variant, interleaved (after one discarded round)."""
    if out is None:  # a build is about 100 MB: it goes when the measurement is done
        with tempfile.TemporaryDirectory(prefix="coldstart-artifact-") as scratch:
            return measure(env, event, runs=runs, out=Path(scratch), authorizer_env=authorizer_env,
                           authorizer_event=authorizer_event)
    ric_python = os.environ.get(RIC_PYTHON_ENV) or str(REPO_ROOT / ".venv-ric" / "bin" / "python")
    rie = emulator()
    workdir = Path(out)
    started = time.perf_counter()
    build_dir = build(workdir)
    build_s = time.perf_counter() - started
    bare = without_bytecode(build_dir, workdir)
    variants: dict[str, tuple[Path, str, dict[str, str], dict[str, Any]]] = {
        "ours": (build_dir, "ours", env, event),
        "naive": (build_dir, "naive", env, event),
        "authorizer": (build_dir, "authorizer", authorizer_env or {}, authorizer_event or {}),
        "ours_without_bytecode": (bare, "ours", env, event),
    }
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    for round_number in range(runs + 1):  # round 0 warms the page cache and the shared Redis entry
        for name, (folder, function, variant_env, variant_event) in variants.items():
            result = run_once(folder, function, variant_env, variant_event, ric_python, rie)
            if round_number:
                samples[name].append(result)
    layer = bytecode_coverage(build_dir / "SharedLayer" / "python")
    functions = {folder: bytecode_coverage(build_dir / folder) for folder, _ in FUNCTIONS.values()}
    shipped = layer["py_files"] == layer["with_pyc"] and all(f["py_files"] == f["with_pyc"] for f in functions.values())
    summary = {
        name: {
            "init_ms": _spread([s["init_ms"] for s in values]),
            "first_request_ms": _spread([s["first_request_ms"] for s in values]),
            "init_plus_first_request_ms": _spread([s["init_ms"] + s["first_request_ms"] for s in values]),
        }
        for name, values in samples.items()
    }
    ours, naive = summary["ours"]["init_ms"]["median"], summary["naive"]["init_ms"]["median"]
    ratios = [o["init_ms"] / n["init_ms"] for o, n in zip(samples["ours"], samples["naive"], strict=True)]
    # The naive backend builds its client on its first request, ours during init: the sum compares the same work.
    total_ratios = [(o["init_ms"] + o["first_request_ms"]) / (n["init_ms"] + n["first_request_ms"])
                    for o, n in zip(samples["ours"], samples["naive"], strict=True)]
    return {
        "results": {"ours": ours, "naive": naive, "bytecode_shipped": shipped},
        "details": {
            "runs": runs,
            "load_average_1m": round(os.getloadavg()[0], 2),
            "cpus": os.cpu_count(),
            "architecture": machine_arch()[0],
            "build_s": round(build_s, 1),
            "emulator": rie.name,
            "summary": summary,
            "ratio_ours_to_naive": {"of_medians": round(ours / naive, 3), **_spread(ratios, 3)},
            "ratio_init_plus_first_request": {
                "of_medians": round(summary["ours"]["init_plus_first_request_ms"]["median"]
                                    / summary["naive"]["init_plus_first_request_ms"]["median"], 3),
                **_spread(total_ratios, 3),
            },
            "bytecode": {"layer": layer, "functions": functions},
            "samples": samples,
        },
    }
