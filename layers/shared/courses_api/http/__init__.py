"""The HTTP adapter: API Gateway events in, problem+json and JSON responses out.

Functions import this package as ``http``; it re-exports what a route needs.
"""

from courses_api.http.resolver import (
    CourseIdPath,
    CursorQuery,
    IfMatchHeader,
    IfNoneMatchHeader,
    LambdaHandler,
    LimitQuery,
    UserIdPath,
    api_handler,
    create_app,
    current_caller,
    health_response,
    json_body,
    json_response,
    no_content,
    not_modified,
    parse_version_header,
    problem_responses,
)

__all__ = [
    "CourseIdPath",
    "CursorQuery",
    "IfMatchHeader",
    "IfNoneMatchHeader",
    "LambdaHandler",
    "LimitQuery",
    "UserIdPath",
    "api_handler",
    "create_app",
    "current_caller",
    "health_response",
    "json_body",
    "json_response",
    "no_content",
    "not_modified",
    "parse_version_header",
    "problem_responses",
]
