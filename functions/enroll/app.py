"""POST /courses/{course_id}/enrollments: enroll the caller (201 first time, 200 on a repeat)."""

from courses_api import http
from courses_api.container import Container
from courses_api.errors import DependencyUnavailable
from courses_api.http import Response
from courses_api.http.writes import IdempotencyKeyHeader, limit_body
from courses_api.models import Enrollment

app = http.create_app()
container = Container()


@app.post(
    "/courses/<course_id>/enrollments",
    summary="Enroll yourself in a published course",
    responses={
        201: http.json_body(Enrollment, "Enrolled"),
        200: http.json_body(Enrollment, "Already enrolled"),
        **http.problem_responses(401, 404, 409, 413, 415, 503),
    },
)
def enroll(course_id: http.CourseIdPath, idempotency_key: IdempotencyKeyHeader = None) -> Response[str]:
    caller = http.current_caller(app)
    if idempotency_key is None:
        outcome = container.enrollment_service.enroll(caller, course_id)
    else:
        idempotent = container.idempotent_enrollments
        if idempotent is None:
            raise DependencyUnavailable("Idempotency-Key is not available: no idempotency table is configured.")
        outcome = idempotent.enroll(caller, course_id, idempotency_key, app.lambda_context)
    return http.json_response(
        outcome.enrollment, status=201 if outcome.created else 200, headers={"Location": "/me/enrollments"}
    )


lambda_handler = limit_body(http.api_handler(app))
