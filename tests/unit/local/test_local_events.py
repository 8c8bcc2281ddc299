"""The local gateway's event shaping and response mapping, checked against API Gateway's rules."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from courses_api.http.problems import PROBLEM_BASE as LAYER_PROBLEM_BASE
from local.events import (
    PROBLEM_BASE,
    BadProxyResponse,
    HttpRequest,
    RouteTable,
    build_proxy_event,
    canonical_header,
    proxy_response_to_http,
)

EVENTS = Path(__file__).resolve().parents[3] / "events"
ROUTES = [
    ("/courses", "GET", "list"),
    ("/courses", "POST", "create"),
    ("/courses/{course_id}", "GET", "get"),
    ("/courses/{course_id}/enrollments", "POST", "enroll"),
    ("/courses/mine", "GET", "literal"),
    ("/files/{proxy+}", "ANY", "greedy"),
]


@pytest.fixture
def table() -> RouteTable:
    return RouteTable(ROUTES)


def test_literal_segments_win_over_parameters(table: RouteTable) -> None:
    match = table.match("/courses/mine")
    assert match is not None
    assert match.resource == "/courses/mine"
    assert match.path_parameters == {}


def test_parameters_are_percent_decoded_per_segment(table: RouteTable) -> None:
    match = table.match("/courses/a%20b/enrollments")
    assert match is not None
    assert match.resource == "/courses/{course_id}/enrollments"
    assert match.path_parameters == {"course_id": "a b"}


def test_encoded_slash_stays_inside_one_parameter(table: RouteTable) -> None:
    match = table.match("/courses/a%2Fb")
    assert match is not None
    assert match.path_parameters == {"course_id": "a/b"}


def test_greedy_parameter_takes_the_rest_and_any_method(table: RouteTable) -> None:
    match = table.match("/files/x/y/z")
    assert match is not None
    assert match.path_parameters == {"proxy": "x/y/z"}
    assert table.target(match.resource, "DELETE") == "greedy"


@pytest.mark.parametrize("path", ["/nope", "/courses//enrollments", "/courses/x/enrollments/y", "/"])
def test_unknown_paths_do_not_match(table: RouteTable, path: str) -> None:
    assert table.match(path) is None


def test_trailing_slash_addresses_the_same_resource(table: RouteTable) -> None:
    match = table.match("/courses/")
    assert match is not None
    assert match.resource == "/courses"


def test_methods_are_per_resource(table: RouteTable) -> None:
    assert table.target("/courses", "GET") == "list"
    assert table.target("/courses", "PUT") is None
    assert sorted(table.methods("/courses")) == ["GET", "POST"]


def _request(**overrides: object) -> HttpRequest:
    values: dict[str, object] = {
        "method": "GET",
        "path": "/courses/abc",
        "raw_query": "limit=5&tag=a&tag=b&flag",
        "headers": [("accept", "application/json"), ("x-multi", "1"), ("x-multi", "2"), ("user-agent", "pytest")],
        "source_ip": "192.0.2.7",
        "request_id": "req-1",
    }
    values.update(overrides)
    return HttpRequest(**values)  # type: ignore[arg-type]


def test_event_has_single_and_multi_value_maps(table: RouteTable) -> None:
    match = table.match("/courses/abc")
    assert match is not None
    event = build_proxy_event(_request(received_at=1_795_801_747.0), match, stage="dev")

    assert event["resource"] == "/courses/{course_id}"
    assert event["path"] == "/courses/abc"
    assert event["pathParameters"] == {"course_id": "abc"}
    assert event["queryStringParameters"] == {"limit": "5", "tag": "b", "flag": ""}
    assert event["multiValueQueryStringParameters"] == {"limit": ["5"], "tag": ["a", "b"], "flag": [""]}
    assert event["headers"]["X-Multi"] == "2"
    assert event["multiValueHeaders"]["X-Multi"] == ["1", "2"]
    assert event["headers"]["X-Forwarded-For"] == "192.0.2.7"
    assert event["stageVariables"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["requestId"] == "req-1"
    assert context["stage"] == "dev"
    assert context["path"] == "/dev/courses/abc"
    assert context["resourcePath"] == "/courses/{course_id}"
    assert context["identity"]["sourceIp"] == "192.0.2.7"
    assert context["requestTime"] == "27/Nov/2026:17:49:07 +0000"
    assert "authorizer" not in context


def test_event_has_the_same_shape_as_the_repository_events(table: RouteTable) -> None:
    # Given the canned event that sam local invoke uses for GET /courses/{course_id}
    canned = json.loads((EVENTS / "get_course.json").read_text())
    match = table.match("/courses/abc")
    assert match is not None
    # When the local gateway shapes a request to the same route
    event = build_proxy_event(_request(), match, stage="dev")  # the route has no authorizer
    # Then both carry the same fields, top level and in the request context
    assert set(event) == set(canned)
    assert set(event["requestContext"]) == set(canned["requestContext"])
    assert set(event["requestContext"]["identity"]) >= set(canned["requestContext"]["identity"])


def test_no_query_string_means_null_maps(table: RouteTable) -> None:
    match = table.match("/courses")
    assert match is not None
    event = build_proxy_event(_request(path="/courses", raw_query=""), match, stage="dev")
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None


def test_text_bodies_pass_as_text_and_binary_as_base64(table: RouteTable) -> None:
    match = table.match("/courses")
    assert match is not None
    text = build_proxy_event(_request(method="POST", body=b'{"title": "x"}'), match, stage="dev")
    assert text["body"] == '{"title": "x"}'
    assert text["isBase64Encoded"] is False

    raw = b"\xff\xfe\x00binary"
    binary = build_proxy_event(_request(method="POST", body=raw), match, stage="dev")
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == raw


def test_binary_media_types_force_base64(table: RouteTable) -> None:
    match = table.match("/courses")
    assert match is not None
    request = _request(method="POST", body=b"plain", headers=[("content-type", "image/png")])
    event = build_proxy_event(request, match, stage="dev", binary_media_types=["image~1*"])
    assert event["isBase64Encoded"] is True


def test_header_names_are_canonicalised() -> None:
    assert canonical_header("if-none-match") == "If-None-Match"
    assert canonical_header("x-amzn-trace-id") == "X-Amzn-Trace-Id"


def test_multi_value_headers_win_over_single_values() -> None:
    response = proxy_response_to_http(
        {
            "statusCode": 200,
            "headers": {"Set-Cookie": "ignored", "ETag": '"3"'},
            "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]},
            "body": "{}",
        },
        "req-1",
    )
    assert ("set-cookie", "a=1") in response.headers
    assert ("set-cookie", "b=2") in response.headers
    assert ("Set-Cookie", "ignored") not in response.headers
    assert ("ETag", '"3"') in response.headers
    assert ("Content-Type", "application/json") in response.headers


def test_base64_bodies_are_decoded() -> None:
    encoded = base64.b64encode(b"\x00\x01").decode()
    response = proxy_response_to_http({"statusCode": 200, "body": encoded, "isBase64Encoded": True}, "r")
    assert response.body == b"\x00\x01"


def test_not_modified_has_no_body() -> None:
    response = proxy_response_to_http({"statusCode": 304, "body": "ignored", "headers": {"ETag": '"1"'}}, "r")
    assert response.status == 304
    assert response.body == b""


@pytest.mark.parametrize(
    "result",
    [None, "text", {"body": "x"}, {"statusCode": "abc"}, {"statusCode": 700}, {"statusCode": 200, "body": 5},
     {"statusCode": 200, "headers": {"X": {"nested": 1}}}, {"statusCode": 200, "multiValueHeaders": {"X": "v"}},
     {"statusCode": 200, "body": "***", "isBase64Encoded": True}],
)
def test_malformed_proxy_responses_are_rejected(result: object) -> None:
    with pytest.raises(BadProxyResponse):
        proxy_response_to_http(result, "r")


def test_gateway_problems_use_the_layers_problem_base() -> None:
    assert PROBLEM_BASE == LAYER_PROBLEM_BASE
