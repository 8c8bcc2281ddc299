"""What a function loads at cold start: only what its route uses, when it uses it.

Each case imports a function module in a fresh interpreter, as a new Lambda container
does, runs what Lambda's init runs (``lifecycle.prime``), and lists the modules loaded.
No network is involved: building the clients opens no connection.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_socket import enable_socket

from courses_api import lifecycle, observability

REPO_ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
module.container.build_clients()
for name in sys.argv[2:]:
    getattr(module.container, name)
print(json.dumps(sorted(sys.modules)))
"""
# After the import, the names the Powertools packages export still resolve (loaded on access).
PROBE_EXPORTS = PROBE.replace("print(", """import gc
from aws_lambda_powertools.event_handler import AppSyncResolver, APIGatewayRestResolver
from aws_lambda_powertools.event_handler.appsync import AppSyncResolver as ByModule
from aws_lambda_powertools.utilities.data_classes import event_source, SQSEvent
assert AppSyncResolver is ByModule and callable(event_source) and SQSEvent.__name__ == "SQSEvent"
assert module.app.__class__ is APIGatewayRestResolver
print(json.dumps({"gc_enabled": gc.isenabled(), "asyncio": "asyncio" in sys.modules}))
print(""", 1)
API_FUNCTIONS = sorted(path.parent.name for path in (REPO_ROOT / "functions").glob("*/app.py")
                       if "api_handler(app)" in path.read_text())
WRITE_PATH = ("courses_api.domain.course_writes", "courses_api.domain.enrollments", "courses_api.domain.idempotency",
              "courses_api.data.enrollments", "courses_api.domain.stream_invalidation")


def probe(function: str, *services: str, script: str = PROBE, **environment: str) -> list[str]:
    """The lines ``script`` prints after importing ``functions/<function>``, building its clients, then ``services``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.pop(lifecycle.LAMBDA_INIT_TYPE, None)
    env.pop(observability.TRACE_SUBSEGMENTS_ENV, None)
    env.update({
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "layers" / "shared"), str(REPO_ROOT)]),
        "COURSES_TABLE": "courses",
        "ENROLLMENTS_TABLE": "enrollments",
        "DYNAMODB_ENDPOINT": "http://127.0.0.1:1",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "AWS_REGION": "us-east-1",
        **environment,
    })
    completed = subprocess.run(
        [sys.executable, "-c", script, str(REPO_ROOT / "functions" / function / "app.py"), *services],
        env=env, capture_output=True, text=True, check=True, timeout=120,
    )
    return completed.stdout.splitlines()


def loaded_modules(function: str, *services: str, **environment: str) -> set[str]:
    """Modules loaded by importing ``functions/<function>``, building its clients, then ``services``."""
    return set(json.loads(probe(function, *services, **environment)[-1]))


def test_a_read_function_loads_no_xray_sdk_no_redis_and_no_write_path() -> None:
    modules = loaded_modules("get_course", "course_reads")

    assert "courses_api.domain.course_reads" in modules
    assert not {name for name in modules if name.split(".")[0] in ("aws_xray_sdk", "redis")}
    assert not modules.intersection(WRITE_PATH)


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_api_functions_load_only_the_rest_resolver_of_powertools(function: str) -> None:
    modules = loaded_modules(function, AWS_LAMBDA_INITIALIZATION_TYPE="on-demand")

    assert "aws_lambda_powertools.event_handler.api_gateway" in modules
    assert not {name for name in modules if name.split(".")[0] == "asyncio"}  # the AppSync resolver's
    assert "aws_lambda_powertools.event_handler.appsync" not in modules
    assert "aws_lambda_powertools.utilities.data_classes.code_pipeline_job_event" not in modules


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_no_api_function_loads_boto3_at_init(function: str) -> None:
    # boto3's package __init__ loads s3transfer; the clients are botocore's (data/dynamo.py)
    modules = loaded_modules(function, AWS_LAMBDA_INITIALIZATION_TYPE="on-demand")

    assert not {name for name in modules if name.split(".")[0] in ("boto3", "s3transfer")}


def test_a_function_that_never_pages_builds_no_secrets_manager_client() -> None:
    # the key's ARN is configured, as in AWS; GET /courses/{id} never signs or reads a cursor
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:cursor"
    modules = loaded_modules("get_course", "course_reads", CURSOR_SECRET_ID=arn)

    assert "courses_api.domain.course_reads" in modules
    assert "aws_lambda_powertools.utilities.parameters" not in modules
    assert "boto3" not in modules


def test_every_powertools_export_still_resolves_and_init_ends_with_collection_on() -> None:
    state = json.loads(probe("get_course", script=PROBE_EXPORTS, AWS_LAMBDA_INITIALIZATION_TYPE="on-demand")[0])

    assert state == {"gc_enabled": True, "asyncio": True}  # AppSyncResolver was asked for: now it is loaded


def test_a_write_function_loads_its_write_path_and_not_the_enrollments() -> None:
    modules = loaded_modules("create_course", "course_writes")

    assert "courses_api.domain.course_writes" in modules
    assert "courses_api.domain.enrollments" not in modules
    assert "aws_xray_sdk" not in modules


def test_asking_for_subsegments_loads_the_xray_sdk() -> None:
    modules = loaded_modules("get_course", TRACE_SUBSEGMENTS="true")

    assert "aws_xray_sdk" in modules


@pytest.mark.parametrize("init_type", ["snap-start", "provisioned-concurrency"])
def test_inits_ahead_of_requests_load_redis_during_init(init_type: str) -> None:
    modules = loaded_modules("get_course", AWS_LAMBDA_INITIALIZATION_TYPE=init_type)

    assert "redis" in modules


def test_an_on_demand_init_leaves_redis_to_the_first_cache_call() -> None:
    modules = loaded_modules("get_course", AWS_LAMBDA_INITIALIZATION_TYPE="on-demand")

    assert "redis" not in modules


def test_no_redis_tier_never_loads_redis() -> None:
    modules = loaded_modules("get_course", AWS_LAMBDA_INITIALIZATION_TYPE="provisioned-concurrency", REDIS_URL="")

    assert "redis" not in modules


def test_handlers_are_traced_only_when_subsegments_are_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    def handler(event: dict[str, str], context: object) -> dict[str, str]:
        return event

    monkeypatch.delenv(observability.TRACE_SUBSEGMENTS_ENV, raising=False)
    assert observability.trace_handler(handler) is handler

    monkeypatch.setenv(observability.TRACE_SUBSEGMENTS_ENV, "true")
    enable_socket()  # the X-Ray SDK creates its UDP emitter socket at import; tracing is off, nothing is sent
    traced = observability.trace_handler(handler)
    assert traced is not handler
    assert traced({"a": "b"}, object()) == {"a": "b"}
