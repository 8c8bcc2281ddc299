"""Property-based contract test: generated requests against /openapi.json, bounded to stay fast.

Every operation is called with schema-conforming and schema-violating inputs; no response
may be a 5xx, and every response must be documented (status, content type, headers, body).

The operations are listed from ``template.yaml`` at collection time (one test each) and
their strategies come from the served document; schemathesis's lazy ``from_fixture``
loader is not used because it relies on a pytest internal that pytest 9 removed.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.conftest import LocalApi
from tests.support.functions import api_routes

pytestmark = pytest.mark.e2e
MAX_EXAMPLES = 15
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
OPERATIONS = api_routes()


@pytest.fixture(scope="session")
def api_schema(local_api: LocalApi) -> Any:
    return schemathesis.openapi.from_url(f"{local_api.url}/openapi.json")


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_honours_its_schema(api_schema: Any, local_api: LocalApi, method: str, path: str) -> None:
    operation = api_schema[path][method]
    # An instructor and admin, so write operations get past auth and exercise their handlers.
    auth = local_api.auth("schemathesis-user", "instructors", "admins")

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def call(case: Any) -> None:
        case.call_and_validate(headers={**(case.headers or {}), **auth}, checks=CHECKS, timeout=30)

    call()
