"""GET /courses/{course_id}: one course, with ETag and conditional GET."""

from courses_api import http
from courses_api.container import Container
from courses_api.http import Response
from courses_api.models import Course

app = http.create_app()
container = Container()


@app.get(
    "/courses/<course_id>",
    summary="Get one course",
    responses={
        200: http.json_body(Course, "The course"),
        304: {"description": "Not modified"},
        **http.problem_responses(404),
    },
)
def get_course(
    course_id: http.CourseIdPath,
    if_none_match: http.IfNoneMatchHeader = None,
) -> Response[str]:
    cached = container.course_reads.get_course(course_id, http.current_caller(app))
    course = cached.value
    if http.parse_version_header(if_none_match, "If-None-Match") == course.version:
        return http.not_modified(course.version, cached)
    return http.json_response(course, cached=cached, etag_version=course.version)


lambda_handler = http.api_handler(app)
