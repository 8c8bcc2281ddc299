"""The local API Gateway: a Starlette app that turns HTTP requests into proxy events.

Every route of ``template.yaml`` is served; a request is authorized as the route's
authorizer would, shaped into the REST proxy event API Gateway sends and handed to the
function's real handler in a worker thread; the proxy response is mapped back. What API
Gateway answers by itself is answered here too, but as problem+json rather than AWS's
``{"message": ...}`` bodies: unknown resources get 404 (AWS: 403 "Missing Authentication
Token"), an unsupported method 405 (AWS: 403 too), bodies over 10 MB 413, a bad token 401,
a crashed or malformed handler 502, and a handler over its timeout 504.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft4Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import best_match  # type: ignore[import-untyped]
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from local.apigw import ApiSettings
from local.auth import ADMINS, AuthError, LocalAuth, authorize, bearer_token, groups_of, is_loopback
from local.events import (
    MAX_PAYLOAD_BYTES,
    PROBLEM_JSON,
    BadProxyResponse,
    HttpRequest,
    HttpResponse,
    RouteTable,
    build_proxy_event,
    problem_response,
    proxy_response_to_http,
)
from local.functions import (
    FunctionCrashedError,
    FunctionError,
    FunctionPool,
    FunctionTimeoutError,
)
from local.openapi import swagger_asset, swagger_html
from local.specs import ApiRoute

log = logging.getLogger("local.server")

API_GATEWAY_TIMEOUT_S = 29.0
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@dataclass(frozen=True)
class GatewayConfig:
    """What the local gateway needs besides the routes."""

    auth: LocalAuth  # the run's stand-in user pool: signing key, issuer, app client
    api: ApiSettings = field(default_factory=ApiSettings)
    max_body_bytes: int = MAX_PAYLOAD_BYTES
    integration_timeout_s: float = API_GATEWAY_TIMEOUT_S


class PayloadTooLargeError(Exception):
    """The body passed API Gateway's payload limit while being read."""


class LocalGateway:
    """Routes requests to function pools the way API Gateway's REST API does."""

    def __init__(self, pools: Mapping[str, FunctionPool], routes: Iterable[ApiRoute], config: GatewayConfig) -> None:
        self.pools = pools
        self.config = config
        self.routes = list(routes)
        self.table = RouteTable((route.path, route.method, route) for route in self.routes)
        self._validators: dict[str, Draft4Validator] = {
            name: Draft4Validator(schema) for name, schema in config.api.models.items()
        }

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.config.max_body_bytes:
            raise PayloadTooLargeError
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.config.max_body_bytes:
                raise PayloadTooLargeError
            chunks.append(chunk)
        return b"".join(chunks)

    async def endpoint(self, request: Request) -> Response:
        """The Starlette endpoint: gateway behaviour, then the wire response with repeated headers kept."""
        started = time.perf_counter()
        try:
            http = await self.handle(request)
        except Exception:  # the gateway's own failure: still a problem+json answer, never a bare 500
            log.exception("the local gateway failed on %s %s", request.method, request.url.path)
            http = problem_response(500, "internal-error", "Internal error",
                                    "The local gateway failed; see the server log.", str(uuid.uuid4()))
        response = Response(content=http.body, status_code=http.status)
        raw: list[tuple[bytes, bytes]] = []
        if not (http.status < 200 or http.status in (204, 304)):
            raw.append((b"content-length", str(len(http.body)).encode()))
        raw.extend(
            (name.lower().encode("latin-1", "replace"), value.encode("latin-1", "replace"))
            for name, value in http.headers
            if name.lower() != "content-length"
        )
        response.raw_headers = raw
        log.debug("%s %s -> %s in %.1f ms", request.method, request.url.path, http.status,
                  (time.perf_counter() - started) * 1000)
        return response

    def gateway_error(
        self, response_type: str, status: int, slug: str, title: str, detail: str, *, request_id: str,
        request_headers: Sequence[tuple[str, str]] = (),
    ) -> HttpResponse:
        """An error API Gateway makes itself, with the template's ``GatewayResponses`` applied.

        Without a customised response the body is our problem+json (AWS would send
        ``{"message": ...}``), so clients see one error format everywhere.
        """
        fallback = problem_response(status, slug, title, detail, request_id)
        custom = self.config.api.response_for(response_type, status)
        if custom is None:
            return fallback
        status = custom.status or status
        rendered = custom.render(detail, request_id)
        body = rendered.encode("utf-8") if rendered is not None else fallback.body
        headers = [("Content-Type", PROBLEM_JSON), *custom.headers_for(request_headers)]
        names = [name.lower() for name, _ in headers]
        headers = [pair for index, pair in enumerate(headers) if pair[0].lower() not in names[index + 1 :]]
        headers.append(("x-amzn-RequestId", request_id))
        headers.append(("x-amzn-ErrorType", _ERROR_TYPES.get(response_type, response_type)))
        return HttpResponse(status=status, headers=headers, body=body)

    def _validate_body(self, route: ApiRoute, request: HttpRequest) -> str | None:
        """The reason the route's request model rejects the body (``BAD_REQUEST_BODY``), if it does."""
        validator = self._validators.get(route.request_model or "")
        if validator is None:
            return None
        content_type = next((v for k, v in request.headers if k.lower() == "content-type"), "application/json")
        if content_type.split(";", 1)[0].strip().lower() != "application/json":
            return None  # no model for this content type: API Gateway passes the body through
        try:
            # Strictly UTF-8 (json.loads would guess UTF-16 or UTF-32 from bytes), and a
            # document nested past the parser's recursion limit is malformed, not a crash.
            document = json.loads((request.body or b"{}").decode("utf-8"))
        except (ValueError, RecursionError):
            return "Invalid request body"
        try:
            error = best_match(validator.iter_errors(document))
        except RecursionError:
            return "Invalid request body"
        if error is None:
            return None
        where = "/".join(str(part) for part in error.absolute_path)
        return f"Invalid request body: {error.message}" + (f" (at {where})" if where else "")

    async def handle(self, request: Request) -> HttpResponse:
        """Gateway behaviour in API Gateway's order: route, method, size, auth, body model, integration."""
        client = request.client
        server = request.scope.get("server") or ("127.0.0.1", 3000)
        http_request = HttpRequest(
            method=request.method.upper(),
            path=request.url.path,
            raw_query=request.scope.get("query_string", b"").decode("latin-1"),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.scope["headers"]],
            source_ip=client.host if client else "127.0.0.1",
            host=str(server[0]),
            port=int(server[1] or 0),
            http_version=str(request.scope.get("http_version", "1.1")),
        )
        request_id = http_request.request_id
        raw_path = request.scope.get("raw_path", b"").decode("latin-1").split("?", 1)[0] or request.url.path
        match = self.table.match(raw_path)
        if match is None:
            return self.gateway_error("MISSING_AUTHENTICATION_TOKEN", 404, "not-found", "Not found",
                                      f"No resource matches {request.url.path}.", request_id=request_id,
                                      request_headers=http_request.headers)
        route: ApiRoute | None = self.table.target(match.resource, http_request.method)
        if route is None:
            allowed = sorted(self.table.methods(match.resource))
            cors = self.config.api.cors
            if http_request.method == "OPTIONS" and cors is not None:
                origin = next((v for k, v in http_request.headers if k.lower() == "origin"), None)
                headers = [*cors.preflight_headers(origin), ("x-amzn-RequestId", request_id),
                           ("Content-Type", "application/json")]
                return HttpResponse(status=200, headers=headers, body=b"")
            # AWS answers a wrong method like an unknown route; 405 with Allow tells a developer more.
            response = self.gateway_error(
                "LOCAL_METHOD_NOT_ALLOWED", 405, "method-not-allowed", "Method not allowed",
                f"{http_request.method} is not allowed on {match.resource}; use {', '.join(allowed)}.",
                request_id=request_id, request_headers=http_request.headers,
            )
            fallback = problem_response(405, "method-not-allowed", "Method not allowed",
                                        f"{http_request.method} is not allowed on {match.resource}; "
                                        f"use {', '.join(allowed)}.", request_id)
            return HttpResponse(status=405, headers=[*response.headers, ("Allow", ", ".join(allowed))],
                                body=fallback.body)
        try:
            http_request.body = await self._read_body(request)
        except PayloadTooLargeError:
            return self.gateway_error("REQUEST_TOO_LARGE", 413, "payload-too-large", "Payload too large",
                                      f"Request bodies are limited to {self.config.max_body_bytes} bytes.",
                                      request_id=request_id, request_headers=http_request.headers)
        try:
            authorizer = authorize(route.authorizer, dict(http_request.headers), self.config.auth)
        except AuthError as error:
            response = self.gateway_error("UNAUTHORIZED", 401, "unauthorized", "Unauthorized",
                                          f"Unauthorized: {error}.", request_id=request_id,
                                          request_headers=http_request.headers)
            if not any(name.lower() == "www-authenticate" for name, _ in response.headers):
                response.headers.append(("WWW-Authenticate", "Bearer"))
            return response
        invalid = self._validate_body(route, http_request)
        if invalid is not None:
            return self.gateway_error("BAD_REQUEST_BODY", 400, "bad-request-body", "Bad request", invalid,
                                      request_id=request_id, request_headers=http_request.headers)
        pool = self.pools.get(route.function_id)
        if pool is None:
            return self.gateway_error("DEFAULT_5XX", 502, "bad-gateway", "Bad gateway",
                                      f"{route.function_id} has no handler file yet.", request_id=request_id,
                                      request_headers=http_request.headers)
        event = build_proxy_event(
            http_request, match, stage=self.config.api.stage, authorizer=authorizer,
            binary_media_types=self.config.api.binary_media_types,
        )
        return await self._integrate(pool, event, request_id, http_request.headers)

    async def _integrate(
        self, pool: FunctionPool, event: dict[str, Any], request_id: str,
        request_headers: Sequence[tuple[str, str]] = (),
    ) -> HttpResponse:
        try:
            result = await asyncio.wait_for(run_in_threadpool(pool.invoke, event, request_id),
                                            self.config.integration_timeout_s)
        except (TimeoutError, FunctionTimeoutError):
            log.error("%s timed out (request %s)", pool.spec.logical_id, request_id)
            return self.gateway_error("INTEGRATION_TIMEOUT", 504, "gateway-timeout", "Gateway timeout",
                                      "Endpoint request timed out.", request_id=request_id,
                                      request_headers=request_headers)
        except (FunctionError, FunctionCrashedError) as error:
            log.error("%s failed (request %s): %s", pool.spec.logical_id, request_id, error)
            return self.gateway_error("DEFAULT_5XX", 502, "bad-gateway", "Bad gateway",
                                      "The function failed; see the server log.", request_id=request_id,
                                      request_headers=request_headers)
        try:
            return proxy_response_to_http(result, request_id)
        except BadProxyResponse as error:
            log.error("%s returned a malformed proxy response: %s", pool.spec.logical_id, error)
            return self.gateway_error("DEFAULT_5XX", 502, "bad-gateway", "Bad gateway",
                                      "Malformed Lambda proxy response.", request_id=request_id,
                                      request_headers=request_headers)


_ERROR_TYPES = {
    "MISSING_AUTHENTICATION_TOKEN": "MissingAuthenticationTokenException",
    "UNAUTHORIZED": "UnauthorizedException",
    "BAD_REQUEST_BODY": "BadRequestException",
    "REQUEST_TOO_LARGE": "RequestTooLargeException",
    "INTEGRATION_TIMEOUT": "InternalServerErrorException",
    "DEFAULT_5XX": "InternalServerErrorException",
    "LOCAL_METHOD_NOT_ALLOWED": "MethodNotAllowed",
}


def create_app(
    gateway: LocalGateway,
    openapi: Callable[[], dict[str, Any]],
    status: Callable[[], dict[str, Any]] | None = None,
    drain: Callable[[], dict[str, Any]] | None = None,
) -> Starlette:
    """The ASGI app: documentation endpoints, then every API route through the gateway."""
    cache: dict[str, dict[str, Any]] = {}

    def admin_refusal(request: Request) -> Response | None:
        """``/__local/*`` answers only a loopback caller with an ``admins`` token: others get
        404 (from elsewhere: as if it did not exist), 401 (no valid token) or 403."""
        request_id = str(uuid.uuid4())
        client = request.client
        if client is None or not is_loopback(client.host):
            return wire(problem_response(404, "not-found", "Not found", f"No resource matches {request.url.path}.",
                                         request_id))
        try:
            token = bearer_token(request.headers)
            if token is None:
                raise AuthError("missing Authorization header")
            claims = gateway.config.auth.verify(token)
        except AuthError as error:
            response = wire(problem_response(401, "unauthorized", "Unauthorized",
                                             f"Unauthorized: {error}.", request_id))
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
        if ADMINS not in groups_of(claims):
            return wire(problem_response(403, "forbidden", "Not allowed",
                                         "Local diagnostics need a token of the admins group.", request_id))
        return None

    async def local_status(request: Request) -> Response:
        """Local-only diagnostics: function containers and stream pollers (no such route in AWS)."""
        refused = admin_refusal(request)
        if refused is not None:
            return refused
        pools = {
            name: {"containers": pool.containers, "invocations": pool.invocations, "cold_starts": pool.cold_starts}
            for name, pool in gateway.pools.items()
        }
        return JSONResponse({"functions": pools, **(status() if status else {})})

    async def local_drain(request: Request) -> Response:
        """Local-only: deliver every stream record written so far and close open windows (tests wait on it)."""
        refused = admin_refusal(request)
        if refused is not None:
            return refused
        return JSONResponse(await run_in_threadpool(drain) if drain else {"streams": []})

    async def local_threads(request: Request) -> Response:
        """Local-only: every thread's stack, to find a hung handler without a debugger."""
        refused = admin_refusal(request)
        if refused is not None:
            return refused
        names = {thread.ident: thread.name for thread in threading.enumerate()}
        dump = [
            f"--- {names.get(ident, ident)}\n{''.join(traceback.format_stack(frame))}"
            for ident, frame in sys._current_frames().items()
        ]
        return PlainTextResponse("\n".join(dump))

    async def openapi_json(_: Request) -> Response:
        if "doc" not in cache:
            cache["doc"] = await run_in_threadpool(openapi)
        return JSONResponse(cache["doc"])

    async def docs(_: Request) -> Response:
        return HTMLResponse(swagger_html())

    async def asset(request: Request) -> Response:
        path = swagger_asset(str(request.path_params["name"]))
        if path is None:
            return wire(problem_response(404, "not-found", "Not found", f"No resource matches {request.url.path}.",
                                         str(uuid.uuid4())))
        return FileResponse(path, headers={"Cache-Control": "max-age=3600"})

    return Starlette(
        routes=[
            Route("/openapi.json", openapi_json, methods=["GET"]),
            Route("/__local/status", local_status, methods=["GET"]),
            Route("/__local/threads", local_threads, methods=["GET"]),
            Route("/__local/streams/drain", local_drain, methods=["POST"]),
            Route("/docs", docs, methods=["GET"]),
            Route("/docs/{name}", asset, methods=["GET"]),
            Route("/{path:path}", gateway.endpoint, methods=ALL_METHODS),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )


def wire(http: HttpResponse) -> Response:
    """A gateway response as a Starlette response (repeated header names kept)."""
    response = Response(content=http.body, status_code=http.status)
    response.raw_headers = [
        *[(name, value) for name, value in response.raw_headers if name != b"content-type"],
        *[(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in http.headers],
    ]
    return response


async def http_error(request: Request, error: Exception) -> Response:
    """Starlette's own 404/405 answers, as problem+json like every other answer."""
    status = error.status_code if isinstance(error, HTTPException) else 500
    detail = error.detail if isinstance(error, HTTPException) else "Unexpected error."
    response = wire(problem_response(status, "not-found" if status == 404 else "http-error", str(detail), str(detail),
                                     str(uuid.uuid4())))
    for name, value in (getattr(error, "headers", None) or {}).items():  # Allow, with a 405
        response.headers[name] = value
    return response


async def server_error(request: Request, error: Exception) -> Response:
    """Anything that escaped a route: logged, answered with problem+json instead of a plain-text 500."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=error)
    return wire(problem_response(500, "internal-error", "Internal error",
                                 "The local server failed; see its log.", str(uuid.uuid4())))


def dump_json(document: Mapping[str, Any]) -> str:
    """Compact JSON for logs."""
    return json.dumps(document, separators=(",", ":"), default=str)
