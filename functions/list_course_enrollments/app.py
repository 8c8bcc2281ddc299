"""GET /courses/{course_id}/enrollments: a course's roster through ByCourse (owner or admin)."""

from aws_lambda_powertools.event_handler import Response

from courses_api.container import Container
from courses_api.http import (
    CourseIdPath,
    CursorQuery,
    LimitQuery,
    api_handler,
    create_app,
    current_caller,
    json_response,
    problem_responses,
)
from courses_api.models import RosterPage

app = create_app()
container = Container()


@app.get(
    "/courses/<course_id>/enrollments",
    summary="List a course's enrollments (its instructor and admins)",
    responses={200: {"description": "One page", "content": {"application/json": {"model": RosterPage}}},
               **problem_responses(401, 403, 404)},
)
def list_course_enrollments(
    course_id: CourseIdPath, limit: LimitQuery = 20, cursor: CursorQuery = None
) -> Response[str]:
    page = container.enrollments.roster(current_caller(app), course_id, limit=limit, cursor=cursor)
    return json_response(page, headers={"Cache-Control": "private, no-store"})


lambda_handler = api_handler(app)
