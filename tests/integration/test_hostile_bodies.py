"""Bodies an attacker would send, through the real write handlers: every one is a 4xx problem.

Nested 20,000 levels deep, in UTF-16/UTF-32/Latin-1, with lone surrogates, as a media type
Powertools would still parse as JSON (``application/jsonx``, ``application/json-seq``), as a
form, with numbers Python will not convert, ``NaN``, or a repeated key: none may reach
``json.loads`` in a way that raises anything but a JSON error, so none may be a 500.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from tests.support.events import claims_for, load_event
from tests.support.functions import HttpResult, call

OWNER_CLAIMS = claims_for("instructor-0001", "instructors")
COURSE = {"title": "Safe parsing", "category": "security", "level": "beginner", "price": 10}
COURSE_TEXT = json.dumps(COURSE)


def raw_event(name: str, body: str, *, content_type: str | None = "application/json", base64_body: bool = False,
              **kwargs: Any) -> dict[str, Any]:
    event = load_event(name, claims=OWNER_CLAIMS, raw_body=body, **kwargs)
    headers = {k: v for k, v in event["headers"].items() if k.lower() != "content-type"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    event["headers"] = headers
    event["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    event["isBase64Encoded"] = base64_body
    return event


def encoded(text: str, encoding: str) -> str:
    return base64.b64encode(text.encode(encoding)).decode("ascii")


def assert_problem(result: HttpResult, status: int) -> dict[str, Any]:
    assert result.status == status, result.body
    problem = result.problem
    assert problem["status"] == status
    assert problem["title"]
    assert problem["detail"]
    return problem


@pytest.fixture
def create_fn(tables: dict[str, str], without_redis: None, function: Callable[[str], ModuleType]) -> ModuleType:
    return function("create_course")


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ("[" * 20_000, "20,000 nested arrays"),
        ('{"a":' * 12_000, "12,000 nested objects (60 KB, under the size limit)"),
        ('{"title": ' + "[" * 40 + "]" * 40 + "}", "40 levels, well formed"),
    ],
)
def test_deep_nesting_is_400(create_fn: ModuleType, body: str, why: str) -> None:
    problem = assert_problem(call(create_fn, raw_event("create_course", body)), 400)
    assert "deeper" in problem["detail"], why


def test_brackets_inside_strings_do_not_count(create_fn: ModuleType) -> None:
    body = json.dumps({**COURSE, "description": "[" * 2_000 + "{" * 2_000 + "\\\\\"" * 200})
    assert call(create_fn, raw_event("create_course", body)).status == 201


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "latin-1"])
def test_bodies_that_are_not_utf8_are_400(create_fn: ModuleType, encoding: str) -> None:
    text = json.dumps({**COURSE, "title": "Café à la carte"}, ensure_ascii=False)
    event = raw_event("create_course", encoded(text, encoding), base64_body=True)
    problem = assert_problem(call(create_fn, event), 400)
    assert "UTF-8" in problem["detail"]


def test_base64_flag_on_a_body_that_is_not_base64_is_400(create_fn: ModuleType) -> None:
    assert_problem(call(create_fn, raw_event("create_course", "{not base64!}", base64_body=True)), 400)


def test_lone_surrogates_are_400(create_fn: ModuleType) -> None:
    assert_problem(call(create_fn, raw_event("create_course", '{"title": "\ud800"}')), 400)


def test_utf8_base64_body_is_read(create_fn: ModuleType) -> None:
    event = raw_event("create_course", encoded(json.dumps({**COURSE, "title": "Café"}), "utf-8"), base64_body=True)
    result = call(create_fn, event)
    assert result.status == 201, result.body
    assert result.body["title"] == "Café"


@pytest.mark.parametrize(
    "content_type",
    [
        "application/jsonx",
        "application/json-seq",
        "application/json5",
        "application/jsonlines",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "application/json; charset=utf-16",
    ],
)
def test_media_types_other_than_json_are_415(create_fn: ModuleType, content_type: str) -> None:
    assert_problem(call(create_fn, raw_event("create_course", COURSE_TEXT, content_type=content_type)), 415)


@pytest.mark.parametrize(
    "content_type", ["application/json", "Application/JSON", "application/json; charset=UTF-8", None]
)
def test_json_in_any_spelling_or_undeclared_is_accepted(create_fn: ModuleType, content_type: str | None) -> None:
    result = call(create_fn, raw_event("create_course", COURSE_TEXT, content_type=content_type))
    assert result.status == 201, result.body


def test_two_content_types_are_415(create_fn: ModuleType) -> None:
    event = raw_event("create_course", COURSE_TEXT)
    event["multiValueHeaders"]["Content-Type"] = ["application/json", "text/plain"]
    assert_problem(call(create_fn, event), 415)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ('{"title": "x", "price": ' + "9" * 5_000 + "}", "an integer Python refuses to convert"),
        ('{"title": "x", "price": NaN}', "NaN"),
        ('{"title": "x", "price": -Infinity}', "Infinity"),
        ('{"title": "a", "title": "b"}', "a repeated key"),
        ("\ufeff" + COURSE_TEXT, "a byte-order mark"),
        ('{"title": "x"', "unterminated"),
    ],
)
def test_malformed_json_is_400(create_fn: ModuleType, body: str, why: str) -> None:
    problem = assert_problem(call(create_fn, raw_event("create_course", body)), 400)
    assert problem["type"].endswith("/malformed-json"), why


def test_patch_and_enroll_are_guarded_too(tables: dict[str, str], without_redis: None,
                                          function: Callable[[str], ModuleType]) -> None:
    update_fn, enroll_fn = function("update_course"), function("enroll")
    patch = raw_event("update_course", "[" * 20_000, path_parameters={"course_id": "c-1"}, headers={"If-Match": '"1"'})
    assert_problem(call(update_fn, patch), 400)
    patch = raw_event("update_course", '{"title": "x"}', content_type="application/json-seq",
                      path_parameters={"course_id": "c-1"}, headers={"If-Match": '"1"'})
    assert_problem(call(update_fn, patch), 415)
    enroll = raw_event("enroll", encoded('{"x": 1}', "utf-32"), base64_body=True, path_parameters={"course_id": "c-1"})
    assert_problem(call(enroll_fn, enroll), 400)
