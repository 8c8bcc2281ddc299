"""The HTTP adapter: API Gateway events in, problem+json and JSON responses out.

Functions import this package as ``http``; it re-exports what a route needs, Powertools'
``Response`` included: importing it from here first makes Powertools' event handler
package load only the REST resolver (see :mod:`courses_api.http.reexports`).
"""

from courses_api import lifecycle
from courses_api.http.reexports import install

lifecycle.pause_collection()  # until the function module ends (api_handler): see lifecycle
install()  # before anything imports Powertools' event handler

from aws_lambda_powertools.event_handler.api_gateway import Response  # noqa: E402 - after install()
from aws_lambda_powertools.event_handler.openapi.params import Body, Query  # noqa: E402

from courses_api.http.resolver import (  # noqa: E402
    CourseIdPath,
    CursorQuery,
    IfMatchHeader,
    IfNoneMatchHeader,
    LambdaHandler,
    LimitQuery,
    UserIdPath,
    api_handler,
    course_etag,
    create_app,
    current_caller,
    health_response,
    is_not_modified,
    json_body,
    json_response,
    no_content,
    not_modified,
    parse_version_header,
    problem_responses,
)

__all__ = [
    "Body",
    "CourseIdPath",
    "CursorQuery",
    "IfMatchHeader",
    "IfNoneMatchHeader",
    "LambdaHandler",
    "LimitQuery",
    "Query",
    "Response",
    "UserIdPath",
    "api_handler",
    "course_etag",
    "create_app",
    "current_caller",
    "health_response",
    "is_not_modified",
    "json_body",
    "json_response",
    "no_content",
    "not_modified",
    "parse_version_header",
    "problem_responses",
]
