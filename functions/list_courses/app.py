"""GET /courses: published courses, newest first, by category (ByCategory) or all (ByStatus)."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from courses_api.container import Container
from courses_api.http import CursorQuery, LimitQuery, api_handler, create_app, json_response, problem_responses
from courses_api.models import CoursePage

app = create_app()
container = Container()


@app.get(
    "/courses",
    summary="List published courses",
    responses={200: {"description": "One page", "content": {"application/json": {"model": CoursePage}}},
               **problem_responses()},
)
def list_courses(
    category: Annotated[str | None, Query(pattern=r"^[a-z0-9-]{1,50}$")] = None,
    level: Annotated[Literal["beginner", "intermediate", "advanced"] | None, Query()] = None,
    limit: LimitQuery = 20,
    cursor: CursorQuery = None,
) -> Response[str]:
    cached = container.course_reads.list_published(category=category, level=level, limit=limit, cursor=cursor)
    return json_response(cached.value, cached=cached)


lambda_handler = api_handler(app)
