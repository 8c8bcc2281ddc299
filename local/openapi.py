"""One OpenAPI document for the whole API, merged from each function's Powertools resolver.

Each function owns the schema of its route (parameters, bodies, responses come from its
pydantic models); the gateway's own behaviour, which no function can describe, is added
from ``template.yaml``: which routes need a bearer token (401/403) and the 413 for bodies
over API Gateway's limit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import aws_lambda_powertools.event_handler.openapi.swagger_ui as swagger_ui_package
from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from local.functions import FunctionPool
from local.specs import ApiRoute

TITLE = "Courses API"
VERSION = "1.0.0"
BEARER_SCHEME = "bearerAuth"
PROBLEM_REF = "#/components/schemas/Problem"
SWAGGER_ASSETS = Path(str(swagger_ui_package.__file__)).resolve().parent

# Used only if no function documents the Problem model itself.
FALLBACK_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Problem",
    "description": "RFC 9457 problem details; every error body of the API.",
    "required": ["title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "default": "about:blank"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}
GATEWAY_PROBLEMS = {
    401: "Missing, malformed, expired or badly signed bearer token",
    403: "The caller lacks the role or ownership this needs",
    413: "Request body over API Gateway's 10 MB limit",
}


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/problem+json": {"schema": {"$ref": PROBLEM_REF}}}}


def merge_documents(schemas: Iterable[Mapping[str, Any]], routes: Iterable[ApiRoute]) -> dict[str, Any]:
    """Merge per-function documents and add what the gateway itself answers."""
    merger = OpenAPIMerge(
        title=TITLE,
        version=VERSION,
        description=(
            "Courses, enrollments and their cache. Errors are RFC 9457 problem details "
            "(application/problem+json). Locally, bearer tokens come from `make token`."
        ),
        security_schemes={
            BEARER_SCHEME: HTTPBearer(
                bearerFormat="JWT", description="Cognito ID token (locally: an RS256 JWT from `make token`)"
            )
        },
        on_conflict="first",
    )
    for schema in schemas:
        merger.add_schema(dict(schema))
    document: dict[str, Any] = json.loads(json.dumps(merger.get_openapi_schema(), default=_model_json))
    components = document.setdefault("components", {})
    component_schemas: dict[str, Any] = components.setdefault("schemas", {})
    _hoist_local_definitions(document, component_schemas)
    component_schemas.setdefault("Problem", FALLBACK_PROBLEM_SCHEMA)

    paths: dict[str, Any] = document.setdefault("paths", {})
    for route in routes:
        operation = paths.get(route.path, {}).get(route.method.lower())
        if operation is None:
            continue
        responses: dict[str, Any] = operation.setdefault("responses", {})
        for bodiless in ("204", "304"):  # no body: Powertools documents a JSON one by default
            if bodiless in responses:
                responses[bodiless].pop("content", None)
        if route.authorizer is not None:
            if route.authorizer.kind == "cognito":
                operation["security"] = [{BEARER_SCHEME: []}]
                statuses = [401, 403]
            else:  # a Lambda authorizer that lets anonymous callers through
                operation["security"] = [{}, {BEARER_SCHEME: []}]
                statuses = [401]
            for status in statuses:
                responses.setdefault(str(status), _problem_response(GATEWAY_PROBLEMS[status]))
        elif route.token_in_function:  # no authorizer: anonymous callers welcome, a token verified in the function
            operation["security"] = [{}, {BEARER_SCHEME: []}]
            responses.setdefault("401", _problem_response(GATEWAY_PROBLEMS[401]))
        if "requestBody" in operation:
            responses.setdefault("413", _problem_response(GATEWAY_PROBLEMS[413]))
    return document


def _model_json(value: Any) -> Any:
    """JSON for the pydantic models Powertools leaves in a merged document (security schemes)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(by_alias=True, exclude_none=True, mode="json")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _hoist_local_definitions(node: Any, schemas: dict[str, Any]) -> None:
    """Move inline ``$defs`` into ``components.schemas``, where their ``$ref``s point.

    A pydantic schema embedded in a response (``model_json_schema(ref_template=
    "#/components/schemas/{model}")``) refers to its nested models in components but
    carries them in a local ``$defs``; without this the references dangle.
    """
    if isinstance(node, dict):
        for name, definition in (node.pop("$defs", None) or {}).items():
            schemas.setdefault(name, definition)
            _hoist_local_definitions(definition, schemas)
        for value in node.values():
            _hoist_local_definitions(value, schemas)
    elif isinstance(node, list):
        for value in node:
            _hoist_local_definitions(value, schemas)


def resolver_schema(pool: FunctionPool) -> dict[str, Any] | None:
    """The OpenAPI document of one function's module-level Powertools resolver ``app``."""
    app = getattr(pool.any_module(), "app", None)
    if app is None or not hasattr(app, "get_openapi_schema"):
        return None
    schema = app.get_openapi_schema(title=TITLE, version=VERSION)
    dumped: dict[str, Any] = schema.model_dump(by_alias=True, exclude_none=True, mode="json")
    return dumped


def build_openapi(pools: Mapping[str, FunctionPool], routes: Iterable[ApiRoute]) -> dict[str, Any]:
    """The API's OpenAPI document from the loaded functions."""
    schemas = [schema for pool in pools.values() if pool.spec.routes and (schema := resolver_schema(pool))]
    return merge_documents(schemas, routes)


def write_openapi(document: Mapping[str, Any], path: Path) -> None:
    """Write the document as stable, reviewable JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def swagger_html(openapi_url: str = "/openapi.json") -> str:
    """Swagger UI served entirely from this server (the assets Powertools ships; no CDN)."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{TITLE} — Swagger UI</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({{
      url: "{openapi_url}",
      dom_id: "#swagger-ui",
      deepLinking: true,
      persistAuthorization: true,
      presets: [SwaggerUIBundle.presets.apis],
    }});
  </script>
</body>
</html>
"""


def swagger_asset(name: str) -> Path | None:
    """``swagger-ui.css`` / ``swagger-ui-bundle.js`` from the installed Powertools package."""
    files = {"swagger-ui.css": "swagger-ui.min.css", "swagger-ui-bundle.js": "swagger-ui-bundle.min.js"}
    if name not in files:
        return None
    path = SWAGGER_ASSETS / files[name]
    return path if path.is_file() else None
