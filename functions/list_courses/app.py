"""GET /courses: published courses, newest first, by category (ByCategory) or all (ByStatus)."""

from typing import Annotated, Literal

from courses_api import http
from courses_api.container import Container
from courses_api.http import Query, Response
from courses_api.models import CoursePage

app = http.create_app()
container = Container(cursors=True)


@app.get(
    "/courses",
    summary="List published courses",
    responses={200: http.json_body(CoursePage, "One page"), **http.problem_responses()},
)
def list_courses(
    category: Annotated[str | None, Query(pattern=r"^[a-z0-9-]{1,50}$")] = None,
    level: Annotated[Literal["beginner", "intermediate", "advanced"] | None, Query()] = None,
    limit: http.LimitQuery = 20,
    cursor: http.CursorQuery = None,
) -> Response[str]:
    cached = container.course_reads.list_published(category=category, level=level, limit=limit, cursor=cursor)
    return http.json_response(cached.value, cached=cached)


lambda_handler = http.api_handler(app)
