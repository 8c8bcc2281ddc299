"""GET /me/enrollments: the caller's enrollments with course summaries (one Query + one BatchGetItem)."""

from aws_lambda_powertools.event_handler import Response

from courses_api.container import Container
from courses_api.http import (
    CursorQuery,
    LimitQuery,
    api_handler,
    create_app,
    current_caller,
    json_response,
    problem_responses,
)
from courses_api.models import EnrollmentPage

app = create_app()
container = Container()


@app.get(
    "/me/enrollments",
    summary="List your enrollments, each with its course's summary",
    responses={200: {"description": "One page", "content": {"application/json": {"model": EnrollmentPage}}},
               **problem_responses(401)},
)
def list_my_enrollments(limit: LimitQuery = 20, cursor: CursorQuery = None) -> Response[str]:
    page = container.enrollments.my_enrollments(current_caller(app), limit=limit, cursor=cursor)
    return json_response(page, headers={"Cache-Control": "private, no-store"})


lambda_handler = api_handler(app)
