"""POST /courses: create a course owned by the caller (instructors and admins)."""

from typing import Annotated

from courses_api import http
from courses_api.container import Container
from courses_api.http import Body, Response
from courses_api.http.writes import limit_body
from courses_api.models import Course, CourseCreate

app = http.create_app()
container = Container()


@app.post(
    "/courses",
    summary="Create a course (instructors and admins)",
    responses={201: http.json_body(Course, "Created"), **http.problem_responses(401, 403, 413, 415)},
)
def create_course(body: Annotated[CourseCreate, Body()]) -> Response[str]:
    course = container.course_writes.create(http.current_caller(app), body)
    return http.json_response(
        course, status=201, etag=http.course_etag(course), headers={"Location": f"/courses/{course.course_id}"}
    )


lambda_handler = limit_body(http.api_handler(app))
