"""The one mapping from errors to RFC 9457 problem+json responses.

Domain errors carry no HTTP: this module gives each class its status, ``type`` slug and
title, turns the typed attributes some carry into headers (the current ``ETag`` of a
course, ``Retry-After``), and registers the resolver's exception handlers so that no error
escapes as a bare 500. No status is ever chosen by matching message text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from pydantic import BaseModel

from courses_api.errors import (
    BadRequest,
    Conflict,
    DependencyUnavailable,
    DomainError,
    Forbidden,
    IdempotencyKeyReused,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Unauthorized,
)
from courses_api.observability import logger

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "https://courses-api.example.com/problems/"


class FieldError(BaseModel):
    """One field-level validation failure."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """RFC 9457 problem details; every error body of the API."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] | None = None


@dataclass(frozen=True, slots=True)
class ProblemType:
    """The status, ``type`` slug and title shared by every problem of one kind."""

    status: int
    slug: str
    title: str


BAD_REQUEST = ProblemType(400, "bad-request", "Bad request")
MALFORMED_JSON = ProblemType(400, "malformed-json", "Malformed JSON")
INVALID_PARAMETER = ProblemType(400, "invalid-parameter", "Invalid parameter")
UNAUTHORIZED = ProblemType(401, "unauthorized", "Unauthorized")
FORBIDDEN = ProblemType(403, "forbidden", "Not allowed")
NOT_FOUND = ProblemType(404, "not-found", "Not found")
CONFLICT = ProblemType(409, "conflict", "Conflict")
PRECONDITION_FAILED = ProblemType(412, "precondition-failed", "Precondition failed")
PAYLOAD_TOO_LARGE = ProblemType(413, "payload-too-large", "Payload too large")
UNSUPPORTED_MEDIA_TYPE = ProblemType(415, "unsupported-media-type", "Unsupported media type")
VALIDATION_FAILED = ProblemType(422, "validation-failed", "Validation failed")
IDEMPOTENCY_KEY_REUSED = ProblemType(422, "idempotency-key-reused", "Idempotency key reused")
PRECONDITION_REQUIRED = ProblemType(428, "precondition-required", "Precondition required")
INTERNAL_ERROR = ProblemType(500, "internal-error", "Internal error")
DEPENDENCY_UNAVAILABLE = ProblemType(503, "dependency-unavailable", "Service temporarily unavailable")

# Each domain error class and the problem it is answered with (subclasses inherit theirs).
PROBLEM_OF_ERROR: Mapping[type[DomainError], ProblemType] = {
    BadRequest: BAD_REQUEST,
    Unauthorized: UNAUTHORIZED,
    Forbidden: FORBIDDEN,
    NotFound: NOT_FOUND,
    Conflict: CONFLICT,
    PreconditionFailed: PRECONDITION_FAILED,
    IdempotencyKeyReused: IDEMPOTENCY_KEY_REUSED,
    PreconditionRequired: PRECONDITION_REQUIRED,
    DependencyUnavailable: DEPENDENCY_UNAVAILABLE,
    DomainError: BAD_REQUEST,
}


def problem_type_of(error: DomainError) -> ProblemType:
    """The problem a domain error is answered with: its class's, or its nearest base's
    (``DomainError`` is in the table, so there always is one)."""
    return next(PROBLEM_OF_ERROR[cls] for cls in type(error).__mro__ if cls in PROBLEM_OF_ERROR)


def headers_of(error: DomainError) -> dict[str, str]:
    """Headers carried by the error's typed attributes (``ETag``: the current version's strong tag)."""
    headers: dict[str, str] = {}
    if isinstance(error, PreconditionFailed) and error.current_version is not None:
        headers["ETag"] = f'"{error.current_version}"'
    if isinstance(error, Conflict) and error.retry_after_s is not None:
        headers["Retry-After"] = str(error.retry_after_s)
    if isinstance(error, Unauthorized):  # RFC 9110 §11.6.1: a 401 names its scheme, as the gateway's do
        headers["WWW-Authenticate"] = "Bearer"
    return headers


def problem_json(problem: ProblemType, detail: str, *, errors: list[FieldError] | None = None) -> str:
    """The problem+json body; the single place error bodies are shaped."""
    body = Problem(type=PROBLEM_BASE + problem.slug, title=problem.title, status=problem.status, detail=detail,
                   errors=errors)
    return body.model_dump_json(exclude_none=True)


def problem_response(
    problem: ProblemType,
    detail: str,
    *,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    """A problem+json response for the resolver."""
    return Response(
        status_code=problem.status,
        content_type=PROBLEM_CONTENT_TYPE,
        body=problem_json(problem, detail, errors=errors),
        headers=headers or {},
    )


def error_response(error: DomainError) -> Response[str]:
    """The response for a domain error: its problem, its detail, its headers."""
    return problem_response(problem_type_of(error), error.detail, headers=headers_of(error))


def _field_errors(raw_errors: Any) -> list[FieldError]:
    """Powertools/pydantic error dicts → our FieldError list (inputs are not echoed back)."""
    return [FieldError(loc=[part if isinstance(part, int) else str(part) for part in error.get("loc", ())],
                       msg=str(error.get("msg", "invalid")), type=str(error.get("type", ""))) for error in raw_errors]


def validation_response(error: RequestValidationError) -> Response[str]:
    """400 for malformed JSON or a bad parameter, 422 for a body that breaks the schema."""
    errors = _field_errors(error.errors())
    if any(e.type == "json_invalid" for e in errors):
        return problem_response(MALFORMED_JSON, "The request body is not valid JSON.", errors=errors)
    if any(e.loc and e.loc[0] == "body" for e in errors):
        return problem_response(VALIDATION_FAILED, "The request body does not match the schema.", errors=errors)
    return problem_response(INVALID_PARAMETER, "A path, query or header parameter is invalid.", errors=errors)


def register_problem_handlers(app: ApiGatewayResolver) -> None:
    """Map every error a route can raise to problem+json, so none escapes as a 500 body."""

    def _content_type(error: RequestUnsupportedContentType) -> Response[str]:
        return problem_response(UNSUPPORTED_MEDIA_TYPE, "Send the body as application/json.")

    def _route_not_found(_: RouteNotFoundError) -> Response[str]:
        return problem_response(NOT_FOUND, "No such route.")

    def _unexpected(error: Exception) -> Response[str]:
        # The one deliberate catch-all: log with the stack, answer with a problem body.
        logger.exception("unhandled error", extra={"error_type": type(error).__name__})
        return problem_response(INTERNAL_ERROR, "An unexpected error occurred; it has been logged.")

    # Registered by call rather than as decorators: Powertools' decorators are untyped.
    app.exception_handler(DomainError)(error_response)
    app.exception_handler(RequestUnsupportedContentType)(_content_type)
    app.exception_handler(RequestValidationError)(validation_response)
    app.not_found(_route_not_found)
    app.exception_handler(Exception)(_unexpected)
