"""HTTP request → API Gateway REST proxy event, and proxy response → HTTP response.

The event carries exactly the fields API Gateway (REST, Lambda proxy integration) sends:
single- and multi-value headers and query strings, path parameters, the stage, a request
context with the caller's IP and the authorizer output, and a base64 body for binary
payloads. The response side applies API Gateway's rules: ``multiValueHeaders`` win over
``headers`` for the same name, ``isBase64Encoded`` bodies are decoded, and anything that is
not a valid proxy response becomes a 502, as it does behind a real API.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import uuid
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote

from local.template import LOCAL_ACCOUNT_ID

LOCAL_API_ID = "local"
PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://courses-api.example.com/problems/"  # == courses_api.errors.PROBLEM_BASE (a test checks)
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's request payload limit

_HTTP_STATUSES = range(100, 600)
_INFORMATIONAL_STATUSES = range(100, 200)
_NO_BODY_STATUSES = frozenset({HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED})
_PARAM = re.compile(r"^\{([A-Za-z0-9_]+)(\+?)\}$")


def canonical_header(name: str) -> str:
    """``if-none-match`` → ``If-None-Match``: how clients usually send names; ASGI lowercases them."""
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """A request matched to a template resource: ``resource`` plus decoded path parameters."""

    resource: str
    path_parameters: dict[str, str]


@dataclass(frozen=True, slots=True)
class _Pattern:
    resource: str
    segments: tuple[tuple[str, str], ...]  # (kind, value): kind is "lit", "param" or "greedy"

    @classmethod
    def parse(cls, resource: str) -> _Pattern:
        parts: list[tuple[str, str]] = []
        for segment in [s for s in resource.split("/") if s]:
            found = _PARAM.match(segment)
            if found is None:
                parts.append(("lit", segment))
            else:
                parts.append(("greedy" if found.group(2) else "param", found.group(1)))
        return cls(resource=resource, segments=tuple(parts))

    def match(self, segments: Sequence[str]) -> dict[str, str] | None:
        params: dict[str, str] = {}
        for index, (kind, value) in enumerate(self.segments):
            if kind == "greedy":
                rest = segments[index:]
                if not rest:
                    return None
                params[value] = "/".join(unquote(s) for s in rest)
                return params
            if index >= len(segments):
                return None
            segment = segments[index]
            if kind == "lit":
                if unquote(segment) != value:
                    return None
            else:
                params[value] = unquote(segment)
        return params if len(segments) == len(self.segments) else None

    def rank(self) -> tuple[int, ...]:
        """Sort key: literal segments beat ``{param}``, which beats ``{proxy+}``, left to right."""
        order = {"lit": 0, "param": 1, "greedy": 2}
        return tuple(order[kind] for kind, _ in self.segments)


class RouteTable:
    """Resources of the API and, per resource, the methods it accepts."""

    def __init__(self, routes: Iterable[tuple[str, str, Any]]) -> None:
        self._methods: dict[str, dict[str, Any]] = {}
        patterns: dict[str, _Pattern] = {}
        for resource, method, target in routes:
            self._methods.setdefault(resource, {})[method.upper()] = target
            patterns.setdefault(resource, _Pattern.parse(resource))
        self._patterns = sorted(patterns.values(), key=_Pattern.rank)

    def match(self, raw_path: str) -> RouteMatch | None:
        """The most specific resource for ``raw_path`` (percent-encoded, as on the wire)."""
        segments = raw_path.split("/")[1:]
        if segments and segments[-1] == "":
            segments = segments[:-1]  # a trailing slash addresses the same resource
        if any(segment == "" for segment in segments):
            return None
        for pattern in self._patterns:
            params = pattern.match(segments)
            if params is not None:
                return RouteMatch(resource=pattern.resource, path_parameters=params)
        return None

    def methods(self, resource: str) -> dict[str, Any]:
        return self._methods.get(resource, {})

    def target(self, resource: str, method: str) -> Any | None:
        methods = self.methods(resource)
        return methods.get(method.upper(), methods.get("ANY"))


@dataclass
class HttpRequest:
    """What the local server read from the wire, independent of the HTTP library."""

    method: str
    path: str  # decoded
    raw_query: str
    headers: Sequence[tuple[str, str]]
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    host: str = "127.0.0.1"
    port: int = 3000
    scheme: str = "http"
    http_version: str = "1.1"
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    received_at: float = field(default_factory=time.time)  # epoch seconds


def _multi(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value  # API Gateway keeps the last value in the single-value map
        multi.setdefault(key, []).append(value)
    return single, multi


def _is_binary(content_type: str, body: bytes, binary_media_types: Sequence[str]) -> bool:
    """Base64 for the API's binary media types, and for bodies that are not text at all."""
    media = content_type.split(";", 1)[0].strip().lower()
    for configured in binary_media_types:
        pattern = configured.replace("~1", "/").lower()
        if pattern in {"*/*", media} or (pattern.endswith("/*") and media.startswith(pattern[:-1])):
            return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def build_proxy_event(
    request: HttpRequest,
    match: RouteMatch,
    *,
    stage: str,
    authorizer: Mapping[str, Any] | None = None,
    binary_media_types: Sequence[str] = (),
) -> dict[str, Any]:
    """The REST API (v1) Lambda proxy event API Gateway would send for ``request``."""
    epoch = request.received_at
    header_pairs = [(canonical_header(name), value) for name, value in request.headers]
    header_pairs += [
        ("X-Forwarded-For", request.source_ip),
        ("X-Forwarded-Port", str(request.port)),
        ("X-Forwarded-Proto", request.scheme),
    ]
    if not any(name == "X-Amzn-Trace-Id" for name, _ in header_pairs):
        header_pairs.append(("X-Amzn-Trace-Id", f"Root=1-{int(epoch):08x}-{uuid.uuid4().hex[:24]}"))
    headers, multi_headers = _multi(
        (name, value) for name, value in header_pairs if name not in {"Content-Length"} or request.body
    )
    query, multi_query = _multi(parse_qsl(request.raw_query, keep_blank_values=True))
    content_type = next((value for name, value in header_pairs if name == "Content-Type"), "")

    body: str | None = None
    is_base64 = False
    if request.body:
        if _is_binary(content_type, request.body, binary_media_types):
            body = base64.b64encode(request.body).decode("ascii")
            is_base64 = True
        else:
            body = request.body.decode("utf-8")

    request_time = datetime.fromtimestamp(epoch, tz=UTC)
    context: dict[str, Any] = {
        "accountId": LOCAL_ACCOUNT_ID,
        "apiId": LOCAL_API_ID,
        "domainName": f"{request.host}:{request.port}",
        "domainPrefix": request.host.split(".", 1)[0],
        "extendedRequestId": request.request_id,
        "httpMethod": request.method,
        "identity": {
            "accessKey": None,
            "accountId": None,
            "caller": None,
            "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
            "sourceIp": request.source_ip,
            "user": None,
            "userAgent": headers.get("User-Agent"),
            "userArn": None,
        },
        "path": f"/{stage}{request.path}",
        "protocol": f"HTTP/{request.http_version}",
        "requestId": request.request_id,
        "requestTime": request_time.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(epoch * 1000),
        "resourceId": format(zlib.crc32(match.resource.encode()), "08x")[:6],
        "resourcePath": match.resource,
        "stage": stage,
    }
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    return {
        "resource": match.resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers or None,
        "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": match.path_parameters or None,
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A response ready for the wire: status, header pairs (repeats allowed) and body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class BadProxyResponse(ValueError):
    """The handler returned something API Gateway cannot turn into a response (502)."""


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise BadProxyResponse(f"header value of type {type(value).__name__}")


def _response_body(result: dict[str, Any]) -> bytes:
    raw_body = result.get("body")
    if raw_body is None:
        return b""
    if not isinstance(raw_body, str):
        raise BadProxyResponse("body must be a string")
    if result.get("isBase64Encoded") is True:
        try:
            return base64.b64decode(raw_body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadProxyResponse("isBase64Encoded body is not base64") from exc
    return raw_body.encode("utf-8")


def proxy_response_to_http(result: Any, request_id: str) -> HttpResponse:
    """Map a Lambda proxy response to HTTP as API Gateway does; raises :class:`BadProxyResponse`."""
    if not isinstance(result, dict):
        raise BadProxyResponse(f"handler returned {type(result).__name__}, not an object")
    status = result.get("statusCode")
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or status not in _HTTP_STATUSES:
        raise BadProxyResponse(f"invalid statusCode {status!r}")
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise BadProxyResponse("headers and multiValueHeaders must be objects")
    pairs: list[tuple[str, str]] = []
    multi_names = {name.lower() for name in multi}
    for name, values in multi.items():
        if not isinstance(values, list):
            raise BadProxyResponse(f"multiValueHeaders[{name!r}] is not a list")
        pairs.extend((name, _header_value(value)) for value in values)
    pairs.extend((name, _header_value(value)) for name, value in single.items() if name.lower() not in multi_names)

    body = _response_body(result)

    names = {name.lower() for name, _ in pairs}
    if "content-type" not in names and body:
        pairs.append(("Content-Type", "application/json"))
    pairs.append(("x-amzn-RequestId", request_id))
    if status in _NO_BODY_STATUSES or status in _INFORMATIONAL_STATUSES:
        body = b""
        pairs = [(n, v) for n, v in pairs if n.lower() not in {"content-length", "transfer-encoding"}]
    return HttpResponse(status=status, headers=pairs, body=body)


def problem_response(status: int, slug: str, title: str, detail: str, request_id: str) -> HttpResponse:
    """An RFC 9457 problem+json response produced by the local gateway itself (same shape as the layer's)."""
    payload: dict[str, Any] = {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": detail}
    headers = [("Content-Type", PROBLEM_JSON), ("x-amzn-RequestId", request_id)]
    return HttpResponse(status=status, headers=headers, body=json.dumps(payload).encode("utf-8"))
