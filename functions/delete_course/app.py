"""DELETE /courses/{course_id}: delete a course (owner or admin; If-Match optional)."""

from aws_lambda_powertools.event_handler import Response

from courses_api.container import Container
from courses_api.http import (
    CourseIdPath,
    IfMatchHeader,
    api_handler,
    create_app,
    current_caller,
    no_content,
    parse_version_header,
    problem_responses,
)

app = create_app()
container = Container()


@app.delete(
    "/courses/<course_id>",
    summary="Delete a course (owner or admin); enrollments are kept as history",
    responses={204: {"description": "Deleted"}, **problem_responses(401, 403, 404, 412)},
)
def delete_course(course_id: CourseIdPath, if_match: IfMatchHeader = None) -> Response[str]:
    expected = parse_version_header(if_match, "If-Match")
    container.course_writes.delete(current_caller(app), course_id, expected_version=expected)
    return no_content()


lambda_handler = api_handler(app)
