"""GET /instructors/{instructor_id}/courses: an instructor's courses through ByInstructor."""

from courses_api import http
from courses_api.container import Container
from courses_api.http import Response
from courses_api.models import CoursePage

app = http.create_app(verify_tokens=True)  # no authorizer on this route: see courses_api.tokens
container = Container(cursors=True)


@app.get(
    "/instructors/<instructor_id>/courses",
    summary="List an instructor's courses (drafts only for the owner and admins)",
    responses={200: http.json_body(CoursePage, "One page"), **http.problem_responses(404)},
)
def list_instructor_courses(
    instructor_id: http.UserIdPath,
    limit: http.LimitQuery = 20,
    cursor: http.CursorQuery = None,
) -> Response[str]:
    cached = container.course_reads.list_by_instructor(
        instructor_id, http.current_caller(app), limit=limit, cursor=cursor
    )
    return http.json_response(cached.value, cached=cached)


lambda_handler = http.api_handler(app)
