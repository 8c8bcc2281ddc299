"""The HTTP adapter: API Gateway events in, problem+json and JSON responses out.

Functions import this package as ``http``; it re-exports what a route needs, Powertools'
``Response`` included: importing it from here first makes Powertools' event handler
package load only the REST resolver (see :mod:`courses_api.http.reexports`).
"""
# ruff: noqa: E402 - every import after install() comes after it on purpose

from courses_api import lifecycle
from courses_api.http.reexports import install

lifecycle.pause_collection()  # until the function module ends (api_handler): see lifecycle
install()  # before anything imports Powertools' event handler

# Each name is imported ``as`` itself: that marks it re-exported (PEP 484), with no second list to keep.
from aws_lambda_powertools.event_handler.api_gateway import Response as Response
from aws_lambda_powertools.event_handler.openapi.params import Body as Body
from aws_lambda_powertools.event_handler.openapi.params import Query as Query

from courses_api.http.resolver import CourseIdPath as CourseIdPath
from courses_api.http.resolver import CursorQuery as CursorQuery
from courses_api.http.resolver import IfMatchHeader as IfMatchHeader
from courses_api.http.resolver import IfNoneMatchHeader as IfNoneMatchHeader
from courses_api.http.resolver import LambdaHandler as LambdaHandler
from courses_api.http.resolver import LimitQuery as LimitQuery
from courses_api.http.resolver import UserIdPath as UserIdPath
from courses_api.http.resolver import api_handler as api_handler
from courses_api.http.resolver import course_etag as course_etag
from courses_api.http.resolver import create_app as create_app
from courses_api.http.resolver import current_caller as current_caller
from courses_api.http.resolver import health_response as health_response
from courses_api.http.resolver import is_not_modified as is_not_modified
from courses_api.http.resolver import json_body as json_body
from courses_api.http.resolver import json_response as json_response
from courses_api.http.resolver import no_content as no_content
from courses_api.http.resolver import not_modified as not_modified
from courses_api.http.resolver import parse_version_header as parse_version_header
from courses_api.http.resolver import problem_responses as problem_responses
