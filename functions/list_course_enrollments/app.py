"""GET /courses/{course_id}/enrollments: a course's roster through ByCourse (owner or admin)."""

from courses_api import http
from courses_api.container import Container
from courses_api.http import Response
from courses_api.models import RosterPage

app = http.create_app()
container = Container(cursors=True)


@app.get(
    "/courses/<course_id>/enrollments",
    summary="List a course's enrollments (its instructor and admins)",
    responses={200: http.json_body(RosterPage, "One page"), **http.problem_responses(401, 403, 404)},
)
def list_course_enrollments(
    course_id: http.CourseIdPath, limit: http.LimitQuery = 20, cursor: http.CursorQuery = None
) -> Response[str]:
    page = container.enrollment_service.roster(http.current_caller(app), course_id, limit=limit, cursor=cursor)
    return http.json_response(page, headers={"Cache-Control": "private, no-store"})


lambda_handler = http.api_handler(app)
