"""Functions of the template, loaded and invoked in-process as Lambda would run them.

``load_function("get_course")`` imports ``functions/get_course/app.py`` as a fresh module
(a new container); :func:`call` invokes its handler with a Lambda context built from the
function's entry in ``template.yaml`` and decodes the proxy response.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from local.invoke import IN_PROCESS_ENVIRONMENT, LambdaContext, context_for, invoke, load_function, new_context
from local.specs import function_specs

__all__ = [
    "IN_PROCESS_ENVIRONMENT",
    "HttpResult",
    "LambdaContext",
    "api_routes",
    "call",
    "context_for",
    "invoke",
    "load_function",
    "new_context",
]


@dataclass
class HttpResult:
    """A proxy response, decoded."""

    status: int
    headers: dict[str, str]
    body: Any

    @property
    def problem(self) -> dict[str, Any]:
        assert self.headers.get("Content-Type") == "application/problem+json", self.headers
        assert isinstance(self.body, dict)
        return self.body


def call(module: ModuleType, event: dict[str, Any]) -> HttpResult:
    """Invoke a function module's handler and decode its proxy response."""
    response = invoke(module, copy.deepcopy(event))
    headers = dict(response.get("headers") or {})
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers.setdefault(key, values[-1])
    raw = response.get("body")
    body = json.loads(raw) if raw else None
    return HttpResult(status=response["statusCode"], headers=headers, body=body)


def api_routes() -> list[tuple[str, str]]:
    """Every ``(method, path)`` the template routes to a function, sorted."""
    return sorted((route.method, route.path) for spec in function_specs().values() for route in spec.routes)
