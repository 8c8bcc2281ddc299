"""What the REST API in ``template.yaml`` does before and around the functions.

API Gateway answers some requests itself: CORS preflights (the ``Cors`` block, or the
``options`` mock integrations of the API's ``DefinitionBody``), bodies
that fail a route's ``RequestModel`` (``BAD_REQUEST_BODY``), bad tokens (``UNAUTHORIZED``),
unknown routes (``MISSING_AUTHENTICATION_TOKEN``) and so on, with the bodies and headers
of the API's ``GatewayResponses``. This module reads those from the template, resolving
the few intrinsic functions they use against parameter defaults, so the local server
answers with the same statuses, headers and bodies the deployed API sends.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from local.template import Unresolvable, resolve

SERVERLESS_API = "AWS::Serverless::Api"
# A gateway response header that copies a request header (``method.request.header.Origin``).
_REQUEST_HEADER = "method.request.header."
# The preflight of a DefinitionBody echoes the request's Origin when it is one of these.
ORIGINS_PARAMETER = "AllowedOrigins"

# What API Gateway sends when the template does not customise a response type.
AWS_DEFAULT_STATUS = {
    "UNAUTHORIZED": 401,
    "ACCESS_DENIED": 403,
    "MISSING_AUTHENTICATION_TOKEN": 403,
    "BAD_REQUEST_BODY": 400,
    "REQUEST_TOO_LARGE": 413,
    "INTEGRATION_TIMEOUT": 504,
    "INTEGRATION_FAILURE": 504,
    "THROTTLED": 429,
}


def _unquote(value: Any) -> str:
    """SAM header values are quoted for API Gateway: ``"'GET,POST'"`` → ``GET,POST``."""
    text = str(value)
    return text[1:-1] if len(text) > 1 and text[0] == text[-1] == "'" else text


@dataclass(frozen=True)
class GatewayResponse:
    """One customised response type: status (None: API Gateway's default), headers, body template."""

    status: int | None
    headers: tuple[tuple[str, str], ...] = ()
    template: str | None = None

    def headers_for(self, request_headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """The response's headers, with ``method.request.header.X`` values copied from the request."""
        resolved: list[tuple[str, str]] = []
        for name, value in self.headers:
            if not value.startswith(_REQUEST_HEADER):
                resolved.append((name, value))
                continue
            wanted = value.removeprefix(_REQUEST_HEADER).lower()
            copied = next((v for k, v in request_headers if k.lower() == wanted), "")
            if copied:  # API Gateway leaves out a mapped header the request did not send
                resolved.append((name, copied))
        return resolved

    def render(self, message: str, request_id: str) -> str | None:
        if self.template is None:
            return None
        return (
            self.template.replace("$context.error.messageString", json.dumps(message))
            .replace("$context.error.message", message.replace('"', "'"))
            .replace("$context.requestId", request_id)
        )


@dataclass(frozen=True)
class Cors:
    """What the preflight mock integration returns.

    ``allow_origin`` is the fixed origin of SAM's ``Cors`` block, or, with ``echo_listed``,
    a comma-separated list: the preflight then echoes the request's ``Origin`` when it is
    listed, and names no origin otherwise.
    """

    allow_origin: str
    allow_methods: str
    allow_headers: str
    max_age: str = ""
    extra_headers: tuple[tuple[str, str], ...] = ()
    echo_listed: bool = False

    def origin_for(self, origin: str | None) -> str | None:
        if not self.echo_listed:
            return self.allow_origin
        allowed = [item.strip() for item in self.allow_origin.split(",") if item.strip()]
        return origin if origin in allowed else None

    def preflight_headers(self, origin: str | None = None) -> list[tuple[str, str]]:
        headers = [
            ("Access-Control-Allow-Methods", self.allow_methods),
            ("Access-Control-Allow-Headers", self.allow_headers),
        ]
        allowed = self.origin_for(origin)
        if allowed is not None:
            headers.insert(0, ("Access-Control-Allow-Origin", allowed))
        if self.max_age:
            headers.append(("Access-Control-Max-Age", self.max_age))
        headers.extend(self.extra_headers)
        return headers


@dataclass(frozen=True)
class ApiSettings:
    """Stage, binary media types, CORS, request models and gateway responses of the REST API."""

    stage: str = "Prod"
    binary_media_types: tuple[str, ...] = ()
    cors: Cors | None = None
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    responses: dict[str, GatewayResponse] = field(default_factory=dict)

    def response_for(self, response_type: str, status: int) -> GatewayResponse | None:
        """The customised response for a type, else the API's DEFAULT_4XX/DEFAULT_5XX."""
        if response_type in self.responses:
            return self.responses[response_type]
        return self.responses.get("DEFAULT_5XX" if status >= HTTPStatus.INTERNAL_SERVER_ERROR else "DEFAULT_4XX")


def _gateway_responses(props: Mapping[str, Any], parameters: Mapping[str, Any]) -> dict[str, GatewayResponse]:
    responses: dict[str, GatewayResponse] = {}
    for response_type, spec in (props.get("GatewayResponses") or {}).items():
        headers: list[tuple[str, str]] = []
        for name, value in ((spec.get("ResponseParameters") or {}).get("Headers") or {}).items():
            try:
                headers.append((name, _unquote(resolve(value, parameters))))
            except Unresolvable:
                continue
        templates = spec.get("ResponseTemplates") or {}
        template = templates.get("application/json")
        status = spec.get("StatusCode")
        responses[response_type] = GatewayResponse(
            status=int(status) if status is not None else None, headers=tuple(headers),
            template=str(template) if template is not None else None,
        )
    return responses


def _definition_preflight(props: Mapping[str, Any], parameters: Mapping[str, Any]) -> Cors | None:
    """The ``options`` mock integration of a ``DefinitionBody`` that echoes a listed Origin."""
    paths = (props.get("DefinitionBody") or {}).get("paths") or {}
    for operations in paths.values():
        integration = ((operations or {}).get("options") or {}).get("x-amazon-apigateway-integration") or {}
        if str(integration.get("type", "")).lower() != "mock":
            continue
        mapped = ((integration.get("responses") or {}).get("default") or {}).get("responseParameters") or {}
        headers = {
            name.removeprefix("method.response.header."): _unquote(value)
            for name, value in mapped.items() if isinstance(value, str)
        }
        try:
            origins = str(resolve({"Ref": ORIGINS_PARAMETER}, parameters))
        except Unresolvable:
            origins = ""
        known = ("Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age")
        return Cors(
            allow_origin=origins,
            echo_listed=True,
            allow_methods=headers.get("Access-Control-Allow-Methods", "*"),
            allow_headers=headers.get("Access-Control-Allow-Headers", "*"),
            max_age=headers.get("Access-Control-Max-Age", ""),
            extra_headers=tuple((name, value) for name, value in headers.items() if name not in known),
        )
    return None


def _cors(props: Mapping[str, Any], parameters: Mapping[str, Any]) -> Cors | None:
    cors = props.get("Cors")
    if not cors:
        return _definition_preflight(props, parameters)
    if isinstance(cors, str):
        return Cors(allow_origin=_unquote(cors), allow_methods="*", allow_headers="*")
    try:
        origin = _unquote(resolve(cors.get("AllowOrigin", "'*'"), parameters))
    except Unresolvable:
        origin = "*"
    return Cors(
        allow_origin=origin,
        allow_methods=_unquote(cors.get("AllowMethods", "'*'")),
        allow_headers=_unquote(cors.get("AllowHeaders", "'*'")),
        max_age=_unquote(cors.get("MaxAge", "")),
    )


def api_settings(template: Mapping[str, Any]) -> ApiSettings:
    """The settings of the template's (first) ``AWS::Serverless::Api``."""
    parameters = template.get("Parameters", {})
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") != SERVERLESS_API:
            continue
        props = resource.get("Properties", {})
        try:
            stage = str(resolve(props.get("StageName", "Prod"), parameters))
        except Unresolvable:
            stage = "Prod"
        return ApiSettings(
            stage=stage,
            binary_media_types=tuple(str(t) for t in props.get("BinaryMediaTypes", []) if isinstance(t, str)),
            cors=_cors(props, parameters),
            models=dict(props.get("Models") or {}),
            responses=_gateway_responses(props, parameters),
        )
    return ApiSettings()
