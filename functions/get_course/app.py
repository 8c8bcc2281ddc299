"""GET /courses/{course_id}: one course, with ETag and conditional GET."""

from aws_lambda_powertools.event_handler import Response

from courses_api.container import Container
from courses_api.http import (
    CourseIdPath,
    IfNoneMatchHeader,
    api_handler,
    create_app,
    current_caller,
    json_response,
    not_modified,
    parse_version_header,
    problem_responses,
)
from courses_api.models import Course

app = create_app()
container = Container()

@app.get(
    "/courses/<course_id>",
    summary="Get one course",
    responses={200: {"description": "The course", "content": {"application/json": {"model": Course}}},
               304: {"description": "Not modified"}, **problem_responses(404)},
)
def get_course(
    course_id: CourseIdPath,
    if_none_match: IfNoneMatchHeader = None,
) -> Response[str]:
    cached = container.course_reads.get_course(course_id, current_caller(app))
    course = cached.value
    if parse_version_header(if_none_match, "If-None-Match") == course.version:
        return not_modified(course.version, cached)
    return json_response(course, cached=cached, etag_version=course.version)


lambda_handler = api_handler(app)
