"""Fuzz targets for everything that parses bytes a client controls (Hypothesis).

Request bodies (the body guard and the JSON deserializer, then a real resolver), cursors,
the groups claim, ``If-Match`` and ``Idempotency-Key``. The property is always the same:
a 2xx or a 4xx problem, never an exception escaping, never a 5xx; plus round trips where
a value has a meaning (a cursor we issued, groups an authorizer rendered).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from hypothesis import assume, given
from hypothesis import strategies as st

from courses_api import http
from courses_api.data.cursors import CursorCodec, InvalidCursor, _b64, is_start_key
from courses_api.errors import BadRequest, PreconditionRequired
from courses_api.http.body import MAX_JSON_DEPTH, check_body, json_depth, strict_json_loads
from courses_api.http.caller import parse_groups
from courses_api.http.resolver import ETAG_PATTERN
from courses_api.http.writes import IdempotencyKeyHeader, limit_body, required_version
from courses_api.models import CourseCreate
from tests.support.events import load_event
from tests.support.functions import new_context

# ------------------------------------------------------------------ request bodies

JSON_LEAVES = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
               | st.text(max_size=20))
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=30)
MEDIA_TYPES = st.sampled_from([
    None, "application/json", "Application/JSON", "application/json; charset=utf-8", "application/json;charset=UTF-16",
    "application/jsonx", "application/json-seq", "text/plain", "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=x", "", ";", "application/json; charset", "*/*",
]) | st.text(max_size=40)
BRACKETS = st.text(alphabet='[]{}",:\\ a1', max_size=400)
BODY_TEXT = st.text(max_size=400) | BRACKETS | JSON_VALUES.map(json.dumps) | st.integers(1, 3000).map(lambda n: "[" * n)


def event_with(body: str | None, media_type: str | None, *, base64_body: bool = False) -> dict[str, Any]:
    headers = {"Content-Type": media_type} if media_type is not None else {}
    return {"body": body, "isBase64Encoded": base64_body, "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()}}


@given(body=BODY_TEXT, media_type=MEDIA_TYPES)
def test_the_body_guard_answers_every_text_body(body: str, media_type: str | None) -> None:
    rejection = check_body(event_with(body, media_type), max_bytes=2048)
    if rejection is not None:
        assert rejection.status in (400, 413, 415)
        assert json.loads(rejection.response()["body"])["status"] == rejection.status
        return
    with contextlib.suppress(json.JSONDecodeError):  # the resolver answers that with 400
        strict_json_loads(body)


@given(raw=st.binary(max_size=400), encoding=st.sampled_from(["utf-8", "utf-16", "utf-32", "latin-1"]))
def test_the_body_guard_answers_every_byte_body(raw: bytes, encoding: str) -> None:
    text = raw.decode("latin-1").encode(encoding, "replace") if encoding != "utf-8" else raw
    rejection = check_body(event_with(base64.b64encode(text).decode(), "application/json", base64_body=True))
    if rejection is None:
        text.decode("utf-8")  # it was accepted only because it is UTF-8
    else:
        assert rejection.status == 400


@given(value=JSON_VALUES)
def test_the_deserializer_reads_every_json_document_within_the_depth(value: Any) -> None:
    text = json.dumps(value)
    assume(json_depth(text, limit=10_000) <= MAX_JSON_DEPTH)
    assert strict_json_loads(text) == json.loads(text)


@given(depth=st.integers(MAX_JSON_DEPTH + 1, 20_000), opener=st.sampled_from(["[", '{"a":']))
def test_nesting_past_the_limit_is_malformed_json_not_a_crash(depth: int, opener: str) -> None:
    try:
        strict_json_loads(opener * depth)
    except json.JSONDecodeError:
        return
    raise AssertionError("accepted a document nested past the limit")


app = http.create_app()


@app.post("/fuzz")
def fuzz_route(body: Annotated[CourseCreate, Body()], idempotency_key: IdempotencyKeyHeader = None,
               if_match: http.IfMatchHeader = None) -> Response[str]:
    required_version(if_match)
    return http.json_response(body, status=201)


handler = limit_body(http.api_handler(app))


def resolve(body: str | None, headers: dict[str, str], *, base64_body: bool = False) -> dict[str, Any]:
    event = load_event("create_course", raw_body=body, headers=headers)
    event["path"] = event["resource"] = "/fuzz"
    event["isBase64Encoded"] = base64_body
    return handler(event, new_context("create_course"))  # type: ignore[arg-type]


def assert_answered(response: dict[str, Any], *, allowed: tuple[int, ...]) -> None:
    status = response["statusCode"]
    assert status in allowed, (status, response.get("body"))
    if status >= 400:
        headers = {**{k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()},
                   **(response.get("headers") or {})}
        assert headers["Content-Type"] == "application/problem+json"
        assert json.loads(response["body"])["status"] == status


COURSES = st.fixed_dictionaries({
    "title": st.text(min_size=1, max_size=30), "category": st.from_regex(r"\A[a-z0-9-]{1,20}\Z"),
    "level": st.sampled_from(["beginner", "intermediate", "advanced"]), "price": st.integers(0, 100_000),
}, optional={"tags": st.lists(st.from_regex(r"\A[a-z]{1,8}\Z"), max_size=12), "status": st.text(max_size=10),
             "extra": JSON_VALUES})


@given(body=BODY_TEXT | COURSES.map(json.dumps), media_type=MEDIA_TYPES)
def test_the_resolver_answers_every_body_with_a_2xx_or_a_4xx_problem(body: str, media_type: str | None) -> None:
    headers: dict[str, str] = {"If-Match": '"1"'}
    if media_type is not None:
        headers["Content-Type"] = media_type
    assert_answered(resolve(body, headers), allowed=(201, 400, 413, 415, 422))


@given(if_match=st.text(max_size=70), key=st.text(max_size=140))
def test_if_match_and_idempotency_key_are_answered(if_match: str, key: str) -> None:
    body = json.dumps({"title": "t", "category": "c", "level": "beginner", "price": 1})
    headers = {"Content-Type": "application/json", "If-Match": if_match, "Idempotency-Key": key}
    assert_answered(resolve(body, headers), allowed=(201, 400, 428))


@given(value=st.text(max_size=80) | st.from_regex(ETAG_PATTERN) | st.sampled_from(["\u00b2", "\u0663", '"\u00b9"']))
def test_version_headers_parse_or_refuse(value: str) -> None:
    try:
        version = required_version(value)
    except (BadRequest, PreconditionRequired):
        return
    digits = value.strip().removeprefix("W/").strip('"')
    # a version tag ("3") or a representation tag ("3.17": version and count shown)
    assert re.fullmatch(r"[0-9]{1,12}(\.[0-9]{1,12})?", digits), value
    assert version == int(digits.split(".")[0])


# ------------------------------------------------------------------ cursors

CODEC = CursorCodec(b"fuzz-secret-with-enough-entropy-0123456789")
KEY_NAMES = st.sampled_from(["course_id", "published_at", "status", "category", "instructor_id", "created_at",
                             "user_id", "enrolled_at"])
KEYS = st.dictionaries(KEY_NAMES, st.text(min_size=1, max_size=60) | st.integers(-(10**30), 10**30),
                       min_size=1, max_size=4)


@given(cursor=st.text(max_size=3000) | st.from_regex(r"\A[A-Za-z0-9_-]{0,60}\.[A-Za-z0-9_-]{0,30}\Z"))
def test_any_cursor_string_is_a_key_or_a_400(cursor: str) -> None:
    try:
        key = CODEC.decode("scope", cursor)
    except InvalidCursor:
        return
    assert key is None or is_start_key(key)


@given(payload=st.binary(max_size=600) | JSON_VALUES.map(lambda v: json.dumps(v).encode()))
def test_a_correctly_signed_cursor_with_any_payload_is_a_key_or_a_400(payload: bytes) -> None:
    cursor = f"{_b64(payload)}.{_b64(CODEC._signature('scope', payload))}"
    try:
        key = CODEC.decode("scope", cursor)
    except InvalidCursor:
        return
    assert is_start_key(key)


@given(key=KEYS, scope=st.text(max_size=30))
def test_cursors_we_issue_round_trip_and_stay_bound_to_their_scope(key: dict[str, Any], scope: str) -> None:
    cursor = CODEC.encode(scope, key)
    assert CODEC.decode(scope, cursor) == key
    try:
        CODEC.decode(scope + "x", cursor)
    except InvalidCursor:
        return
    raise AssertionError("a cursor was accepted by another list")


# ------------------------------------------------------------------ the groups claim

# Cognito group names: letters, marks, symbols, numbers, punctuation; no whitespace; 1-128.
GROUP_NAMES = st.text(alphabet=st.characters(categories=["L", "M", "S", "N", "P"]), min_size=1, max_size=20)
GROUPS = st.lists(GROUP_NAMES | st.sampled_from(["admins", "instructors", "x,admins", "[admins]", "admins,"]),
                  max_size=6, unique=True)


@given(raw=st.none() | st.text(max_size=200) | st.lists(st.text(max_size=20)) | st.integers() | JSON_VALUES)
def test_the_groups_parser_never_fails(raw: Any) -> None:
    groups = parse_groups(raw)
    assert all(name and not any(char.isspace() for char in name) for name in groups)


@given(groups=GROUPS)
def test_every_rendering_an_authorizer_sends_parses_back_exactly(groups: list[str]) -> None:
    expected = frozenset(groups)
    assert parse_groups(groups) == expected
    assert parse_groups("[" + " ".join(groups) + "]") == expected  # the Cognito REST authorizer


@given(name=GROUP_NAMES)
def test_one_group_is_one_group_and_grants_only_itself(name: str) -> None:
    assume(not (name.startswith("[") and name.endswith("]")))  # a lone bracketed name reads as a list
    assert parse_groups(name) == {name}
    assert ("admins" in parse_groups(name)) == (name == "admins")
