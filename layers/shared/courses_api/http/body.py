"""Reading request bodies as hostile bytes: size, media type, encoding and JSON depth.

Everything here runs before (or as) Powertools reads a body, so a body that is not UTF-8,
nested deeper than any course could be, or sent under a media type this API does not speak
is answered with a 4xx problem, never a 500. Powertools accepts any media type that starts
with ``application/json`` (``application/jsonx`` too), and forms, and compares it as written.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler.content_types import APPLICATION_JSON

from courses_api.http.problems import (
    PAYLOAD_TOO_LARGE,
    PROBLEM_CONTENT_TYPE,
    UNSUPPORTED_MEDIA_TYPE,
    ProblemType,
    problem_json,
)

# Far above any valid course (title 200 + description 5,000 + 10 tags), far below API
# Gateway's 10 MB: a bigger body is refused before it is parsed.
MAX_BODY_BYTES = 64 * 1024
# A course body is two levels deep (the object and its tags); anything near this is an attack.
MAX_JSON_DEPTH = 32

# The characters that can open, close or escape something; everything else is skipped at C speed.
_STRUCTURE = re.compile(r'["\\\[\]{}]')


class JsonNestingError(ValueError):
    """The document is nested deeper than :data:`MAX_JSON_DEPTH`."""


def json_depth(text: str, limit: int = MAX_JSON_DEPTH) -> int:
    """The deepest nesting of arrays and objects in ``text``, scanning without recursion.

    Brackets inside strings do not count; the scan stops with :class:`JsonNestingError` as
    soon as ``limit`` is passed, so a body of 64 KiB of ``[`` costs one short loop. The text
    need not be valid JSON: this bounds what a parser would have to recurse into.
    """
    depth = deepest = 0
    in_string = False
    escaped_at = -1
    for found in _STRUCTURE.finditer(text):
        char, at = found.group(), found.start()
        if in_string:
            if at == escaped_at:
                continue
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                raise JsonNestingError(f"the body nests arrays and objects deeper than {limit} levels")
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(0, depth - 1)
    return deepest


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ValueError("an object repeats a key")
    return document


def strict_json_loads(text: str) -> Any:
    """Powertools' body deserializer: JSON (RFC 8259) only, bounded, one meaning per body.

    Depth is checked first, without recursion; ``NaN``/``Infinity``, repeated keys and
    numbers Python refuses to convert (over 4,300 digits) are malformed too. Every failure
    is a :class:`json.JSONDecodeError`, which Powertools turns into a 400 problem.
    """
    try:
        json_depth(text)
        return json.loads(text, parse_constant=_no_constants, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as error:
        raise json.JSONDecodeError(str(error), text, 0) from error


MALFORMED_BODY = ProblemType(400, "malformed-body", "Malformed body")


@dataclass(frozen=True, slots=True)
class BodyRejection:
    """Why a body is refused before it is parsed, as a problem."""

    problem: ProblemType
    detail: str

    @property
    def status(self) -> int:
        return self.problem.status

    def response(self) -> dict[str, Any]:
        """The Lambda proxy response for this rejection."""
        return {
            "statusCode": self.problem.status,
            "headers": {"Content-Type": PROBLEM_CONTENT_TYPE},
            "body": problem_json(self.problem, self.detail),
            "isBase64Encoded": False,
        }


def header_values(event: Mapping[str, Any], name: str) -> list[str]:
    """Every value of header ``name`` (any case) in a REST proxy event, without repeats."""
    values: list[str] = []
    for field in ("multiValueHeaders", "headers"):
        for key, value in (event.get(field) or {}).items():
            if isinstance(key, str) and key.lower() == name.lower():
                values.extend(item for item in (value if isinstance(value, list) else [value]) if isinstance(item, str))
    return list(dict.fromkeys(values))


def with_lowercase_content_type(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its ``Content-Type`` values in lower case (a shallow copy).

    Media types are case-insensitive, and Powertools compares them as written.
    """

    def lower(name: Any, value: Any) -> Any:
        if isinstance(value, list):
            return [lower(name, item) for item in value]
        return value.lower() if isinstance(value, str) and str(name).lower() == "content-type" else value

    updated = dict(event)
    for field in ("headers", "multiValueHeaders"):
        if isinstance(event.get(field), dict):
            updated[field] = {name: lower(name, value) for name, value in event[field].items()}
    return updated


def media_type_problem(content_types: list[str]) -> BodyRejection | None:
    """``None`` when the body is declared as JSON in UTF-8 (or not declared at all)."""
    if not content_types:
        return None  # no Content-Type: read as JSON, as API Gateway and Powertools do
    if len(content_types) > 1:
        return BodyRejection(UNSUPPORTED_MEDIA_TYPE, "Send one Content-Type header: application/json.")
    media_type, *parameters = (part.strip() for part in content_types[0].split(";"))
    if media_type.lower() != APPLICATION_JSON:
        detail = f"Send the body as {APPLICATION_JSON}; {media_type[:80]!r} is not accepted."
        return BodyRejection(UNSUPPORTED_MEDIA_TYPE, detail)
    for parameter in parameters:
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return BodyRejection(UNSUPPORTED_MEDIA_TYPE, "JSON bodies are UTF-8; send charset=utf-8 or no charset.")
    return None


def body_text(event: Mapping[str, Any]) -> tuple[str | None, BodyRejection | None]:
    """The body as text, decoded strictly as UTF-8 (base64 bodies first decoded), or why not."""
    body = event.get("body")
    if body is None or body == "":
        return None, None
    if not isinstance(body, str):
        return None, BodyRejection(MALFORMED_BODY, "The body is not text.")
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            return None, BodyRejection(MALFORMED_BODY, "The body is marked base64 but is not base64.")
    else:
        try:
            raw = body.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: not text any encoding can carry
            return None, BodyRejection(MALFORMED_BODY, "The body is not valid UTF-8.")
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        detail = "The body is not valid UTF-8 (UTF-16, UTF-32 and Latin-1 are not accepted)."
        return None, BodyRejection(MALFORMED_BODY, detail)


def body_bytes(event: Mapping[str, Any]) -> int:
    """Bytes of the request body as the client sent it (base64 bodies counted decoded)."""
    body = event.get("body")
    if not body or not isinstance(body, str):
        return 0
    if event.get("isBase64Encoded"):
        return len(body) * 3 // 4
    return len(body.encode("utf-8", "surrogatepass"))


def check_body(event: Mapping[str, Any], max_bytes: int = MAX_BODY_BYTES) -> BodyRejection | None:
    """Whether the resolver may read this event's body; a rejection says why not.

    In order: over ``max_bytes`` → 413; a media type other than JSON in UTF-8 → 415; bytes
    that are not UTF-8 → 400; nesting deeper than :data:`MAX_JSON_DEPTH` → 400. A body that
    passes may still be malformed JSON, which the resolver answers with 400 itself.
    """
    size = body_bytes(event)
    if size > max_bytes:
        return BodyRejection(PAYLOAD_TOO_LARGE, f"The body has {size} bytes; the limit is {max_bytes}.")
    if size == 0:
        return None
    media = media_type_problem(header_values(event, "Content-Type"))
    if media is not None:
        return media
    text, problem = body_text(event)
    if problem is not None or text is None:
        return problem
    try:
        json_depth(text)
    except JsonNestingError as error:
        return BodyRejection(MALFORMED_BODY, f"{str(error).capitalize()}.")
    return None
