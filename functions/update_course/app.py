"""PATCH /courses/{course_id}: change a course if it is still at the If-Match version."""

from typing import Annotated

from courses_api import http
from courses_api.container import Container
from courses_api.http import Body, Response
from courses_api.http.writes import limit_body, required_version
from courses_api.models import Course, CoursePatch

app = http.create_app()
container = Container()


@app.patch(
    "/courses/<course_id>",
    summary="Change a course (owner or admin; If-Match required)",
    responses={
        200: http.json_body(Course, "The changed course"),
        **http.problem_responses(401, 403, 404, 412, 413, 415, 428),
    },
)
def update_course(
    course_id: http.CourseIdPath,
    body: Annotated[CoursePatch, Body()],
    if_match: http.IfMatchHeader = None,
) -> Response[str]:
    caller = http.current_caller(app)
    caller.require_user()
    course = container.course_writes.update(caller, course_id, body, expected_version=required_version(if_match))
    return http.json_response(course, etag=http.course_etag(course))


lambda_handler = limit_body(http.api_handler(app))
