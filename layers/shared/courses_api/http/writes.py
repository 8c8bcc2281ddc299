"""HTTP pieces only the write routes need: the body guard, ``If-Match``, ``Idempotency-Key``."""

from __future__ import annotations

import functools
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.utilities.typing import LambdaContext

from courses_api.errors import PreconditionRequired
from courses_api.http.body import MAX_BODY_BYTES, body_bytes, check_body, with_lowercase_content_type
from courses_api.http.resolver import LambdaHandler, parse_version_header
from courses_api.observability import logger

# Declared here, not with the idempotency service, so that routes without it never load it.
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_.:-]{8,128}$"

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY_PATTERN,
           description="Optional; a retry with the same key gets the first response (kept 24 h)"),
]


def limit_body(handler: LambdaHandler, max_bytes: int = MAX_BODY_BYTES) -> LambdaHandler:
    """Refuse, before the resolver reads it, a body this API cannot accept.

    Over ``max_bytes`` → 413; a media type other than JSON in UTF-8 (``application/jsonx``
    and ``application/json-seq`` included, which Powertools would parse as JSON) → 415;
    bytes that are not UTF-8, or JSON nested deeper than any course → 400. Powertools
    validates the body before any route middleware runs, so this sits in front of it.
    """

    @functools.wraps(handler)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        rejection = check_body(event, max_bytes)
        if rejection is not None:
            logger.warning("request body refused", extra={"status": rejection.status, "reason": rejection.problem.slug,
                                                          "body_bytes": body_bytes(event)})
            return rejection.response()
        return handler(with_lowercase_content_type(event), context)

    return lambda_handler


def required_version(if_match: str | None) -> int:
    """The version a PATCH is conditional on; 428 without ``If-Match`` (``*`` does not count)."""
    version = parse_version_header(if_match, "If-Match")
    if version is None:
        raise PreconditionRequired("Send If-Match with the ETag of the version you are changing.")
    return version
