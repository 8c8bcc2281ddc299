"""Domain errors and their one mapping to RFC 9457 problem+json responses.

Services raise these; adapters translate ``ClientError``/``RedisError`` into them; the
handlers registered by :func:`register_problem_handlers` turn them into responses. No
status is ever chosen by matching message text.
"""

from __future__ import annotations

from typing import Any, ClassVar

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from courses_api.domain.models import FieldError, Problem
from courses_api.observability import logger

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "https://courses-api.example.com/problems/"


class DomainError(Exception):
    """Base of every error a client can be told about."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class BadRequest(DomainError):
    """The request is malformed in a way no model caught (bad cursor, bad header)."""


class Unauthorized(DomainError):
    status, slug, title = 401, "unauthorized", "Authentication required"


class Forbidden(DomainError):
    status, slug, title = 403, "forbidden", "Not allowed"


class NotFound(DomainError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(DomainError):
    status, slug, title = 409, "conflict", "Conflict"


class PreconditionFailed(DomainError):
    status, slug, title = 412, "precondition-failed", "Precondition failed"


class PayloadTooLarge(DomainError):
    status, slug, title = 413, "payload-too-large", "Payload too large"


class PreconditionRequired(DomainError):
    status, slug, title = 428, "precondition-required", "Precondition required"


class DependencyUnavailable(DomainError):
    """DynamoDB (the source of truth) could not answer; the client may retry."""

    status, slug, title = 503, "dependency-unavailable", "Service temporarily unavailable"


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    """A problem+json response for the resolver."""
    return Response(
        status_code=status,
        content_type=PROBLEM_CONTENT_TYPE,
        body=problem_json(status, slug, title, detail, errors=errors),
        headers=headers or {},
    )


def problem_json(status: int, slug: str, title: str, detail: str, *, errors: list[FieldError] | None = None) -> str:
    """The problem+json body; the single place error bodies are shaped."""
    problem = Problem(type=PROBLEM_BASE + slug, title=title, status=status, detail=detail, errors=errors)
    return problem.model_dump_json(exclude_none=True)


def _field_errors(raw_errors: Any) -> list[FieldError]:
    """Powertools/pydantic error dicts → our FieldError list (inputs are not echoed back)."""
    fields: list[FieldError] = []
    for error in raw_errors:
        loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
        fields.append(FieldError(loc=loc, msg=str(error.get("msg", "invalid")), type=str(error.get("type", ""))))
    return fields


def register_problem_handlers(app: ApiGatewayResolver) -> None:
    """Map every error a route can raise to problem+json, so none escapes as a 500 body."""

    def _domain(error: DomainError) -> Response[str]:
        return problem_response(error.status, error.slug, error.title, error.detail, headers=error.headers)

    def _content_type(error: RequestUnsupportedContentType) -> Response[str]:
        return problem_response(415, "unsupported-media-type", "Unsupported media type",
                                "Send the body as application/json.")

    def _validation(error: RequestValidationError) -> Response[str]:
        errors = _field_errors(error.errors())
        in_body = any(e.loc and e.loc[0] == "body" for e in errors)
        if any(e.type == "json_invalid" for e in errors):
            return problem_response(400, "malformed-json", "Malformed JSON", "The request body is not valid JSON.",
                                    errors=errors)
        if in_body:
            return problem_response(422, "validation-failed", "Validation failed",
                                    "The request body does not match the schema.", errors=errors)
        return problem_response(400, "invalid-parameter", "Invalid parameter",
                                "A path, query or header parameter is invalid.", errors=errors)

    def _route_not_found(_: RouteNotFoundError) -> Response[str]:
        return problem_response(404, "not-found", "Not found", "No such route.")

    def _unexpected(error: Exception) -> Response[str]:
        # The one deliberate catch-all: log with the stack, answer with a problem body.
        logger.exception("unhandled error", extra={"error_type": type(error).__name__})
        return problem_response(500, "internal-error", "Internal error",
                                "An unexpected error occurred; it has been logged.")

    # Registered by call rather than as decorators: Powertools' decorators are untyped.
    app.exception_handler(DomainError)(_domain)
    app.exception_handler(RequestUnsupportedContentType)(_content_type)
    app.exception_handler(RequestValidationError)(_validation)
    app.not_found(_route_not_found)
    app.exception_handler(Exception)(_unexpected)
