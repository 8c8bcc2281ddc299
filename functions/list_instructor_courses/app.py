"""GET /instructors/{instructor_id}/courses: an instructor's courses through ByInstructor."""

from aws_lambda_powertools.event_handler import Response

from courses_api.container import Container
from courses_api.http import (
    CursorQuery,
    LimitQuery,
    UserIdPath,
    api_handler,
    create_app,
    current_caller,
    json_response,
    problem_responses,
)
from courses_api.models import CoursePage

app = create_app()
container = Container()


@app.get(
    "/instructors/<instructor_id>/courses",
    summary="List an instructor's courses (drafts only for the owner and admins)",
    responses={200: {"description": "One page", "content": {"application/json": {"model": CoursePage}}},
               **problem_responses()},
)
def list_instructor_courses(
    instructor_id: UserIdPath,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> Response[str]:
    cached = container.course_reads.list_by_instructor(
        instructor_id, current_caller(app), limit=limit, cursor=cursor
    )
    return json_response(cached.value, cached=cached)


lambda_handler = api_handler(app)
