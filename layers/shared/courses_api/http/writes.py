"""HTTP pieces only the write routes need: a body-size limit, ``If-Match``, ``Idempotency-Key``."""

from __future__ import annotations

import functools
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.utilities.typing import LambdaContext

from courses_api.errors import PreconditionRequired
from courses_api.http.problems import PAYLOAD_TOO_LARGE, PROBLEM_CONTENT_TYPE, problem_json
from courses_api.http.resolver import LambdaHandler, parse_version_header
from courses_api.observability import logger

# Far above any valid course (title 200 + description 5,000 + 10 tags), far below API
# Gateway's 10 MB: a bigger body is refused before it is parsed.
MAX_BODY_BYTES = 64 * 1024
# Declared here, not with the idempotency service, so that routes without it never load it.
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_.:-]{8,128}$"

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY_PATTERN,
           description="Optional; a retry with the same key gets the first response (kept 24 h)"),
]


def body_size(event: dict[str, Any]) -> int:
    """Bytes of the request body as the client sent it (base64 bodies counted decoded)."""
    body = event.get("body")
    if not body or not isinstance(body, str):
        return 0
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4
    return len(body.encode("utf-8"))


def too_large_response(size: int, limit: int) -> dict[str, Any]:
    """The 413 proxy response, shaped like every other problem."""
    return {
        "statusCode": PAYLOAD_TOO_LARGE.status,
        "headers": {"Content-Type": PROBLEM_CONTENT_TYPE},
        "body": problem_json(PAYLOAD_TOO_LARGE, f"The body has {size} bytes; the limit is {limit}."),
        "isBase64Encoded": False,
    }


def limit_body(handler: LambdaHandler, max_bytes: int = MAX_BODY_BYTES) -> LambdaHandler:
    """Refuse bodies over ``max_bytes`` with 413 before the resolver parses and validates them.

    Powertools validates the body before any route middleware runs, so the limit has to sit
    in front of the resolver.
    """

    @functools.wraps(handler)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        size = body_size(event)
        if size > max_bytes:
            logger.warning("request body too large", extra={"body_bytes": size, "limit": max_bytes})
            return too_large_response(size, max_bytes)
        return handler(event, context)

    return lambda_handler


def required_version(if_match: str | None) -> int:
    """The version a PATCH is conditional on; 428 without ``If-Match`` (``*`` does not count)."""
    version = parse_version_header(if_match, "If-Match")
    if version is None:
        raise PreconditionRequired("Send If-Match with the ETag of the version you are changing.")
    return version
