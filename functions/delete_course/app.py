"""DELETE /courses/{course_id}: delete a course (owner or admin; If-Match optional)."""

from courses_api import http
from courses_api.container import Container
from courses_api.http import Response

app = http.create_app()
container = Container()


@app.delete(
    "/courses/<course_id>",
    summary="Delete a course (owner or admin); enrollments are kept as history",
    responses={204: {"description": "Deleted"}, **http.problem_responses(401, 403, 404, 412)},
)
def delete_course(course_id: http.CourseIdPath, if_match: http.IfMatchHeader = None) -> Response[str]:
    expected = http.parse_version_header(if_match, "If-Match")
    container.course_writes.delete(http.current_caller(app), course_id, expected_version=expected)
    return http.no_content()


lambda_handler = http.api_handler(app)
