"""GET /health: DynamoDB must answer; a cache outage reports "degraded", never down."""

from aws_lambda_powertools.event_handler import Response

from courses_api.container import Container
from courses_api.http import api_handler, create_app, json_response, problem_responses
from courses_api.models import HealthReport

app = create_app()
container = Container()


@app.get(
    "/health",
    summary="Health of the API and its dependencies",
    responses={200: {"description": "Healthy or degraded", "content": {"application/json": {"model": HealthReport}}},
               **problem_responses(503)},
)
def health() -> Response[str]:
    return json_response(container.health(), headers={"Cache-Control": "no-store"})


lambda_handler = api_handler(app)
