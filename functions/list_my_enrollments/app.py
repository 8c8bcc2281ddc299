"""GET /me/enrollments: the caller's enrollments with course summaries (one Query + one BatchGetItem)."""

from courses_api import http
from courses_api.container import Container
from courses_api.http import Response
from courses_api.models import EnrollmentPage

app = http.create_app()
container = Container(cursors=True)


@app.get(
    "/me/enrollments",
    summary="List your enrollments, each with its course's summary",
    responses={200: http.json_body(EnrollmentPage, "One page"), **http.problem_responses(401)},
)
def list_my_enrollments(limit: http.LimitQuery = 20, cursor: http.CursorQuery = None) -> Response[str]:
    page = container.enrollment_service.my_enrollments(http.current_caller(app), limit=limit, cursor=cursor)
    return http.json_response(page, headers={"Cache-Control": "private, no-store"})


lambda_handler = http.api_handler(app)
