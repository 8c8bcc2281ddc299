"""GET /courses/{course_id}: one course, with ETag and conditional GET."""

from courses_api import http
from courses_api.container import Container
from courses_api.http import Response
from courses_api.models import Course

app = http.create_app(verify_tokens=True)  # no authorizer on this route: see courses_api.tokens
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
    if http.is_not_modified(if_none_match, course):
        return http.not_modified(course, cached)
    return http.json_response(course, cached=cached, etag=http.course_etag(course))


lambda_handler = http.api_handler(app)
