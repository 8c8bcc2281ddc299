"""POST /courses/{course_id}/enrollments: enroll the caller (201 first time, 200 on a repeat)."""

from aws_lambda_powertools.event_handler import Response

from courses_api.container import Container
from courses_api.errors import DependencyUnavailable
from courses_api.http import CourseIdPath, api_handler, create_app, current_caller, json_response, problem_responses
from courses_api.models import Enrollment
from courses_api.write_http import IdempotencyKeyHeader, limit_body

app = create_app()
container = Container()


@app.post(
    "/courses/<course_id>/enrollments",
    summary="Enroll yourself in a published course",
    responses={201: {"description": "Enrolled", "content": {"application/json": {"model": Enrollment}}},
               200: {"description": "Already enrolled", "content": {"application/json": {"model": Enrollment}}},
               **problem_responses(401, 404, 409, 413, 503)},
)
def enroll(course_id: CourseIdPath, idempotency_key: IdempotencyKeyHeader = None) -> Response[str]:
    caller = current_caller(app)
    if idempotency_key is None:
        outcome = container.enrollments.enroll(caller, course_id)
    else:
        idempotent = container.idempotent_enrollments
        if idempotent is None:
            raise DependencyUnavailable("Idempotency-Key is not available: no idempotency table is configured.")
        outcome = idempotent.enroll(caller, course_id, idempotency_key, app.lambda_context)
    return json_response(outcome.enrollment, status=201 if outcome.created else 200,
                         headers={"Location": "/me/enrollments"})


lambda_handler = limit_body(api_handler(app))
