"""GET /health: DynamoDB must answer; a cache outage reports "degraded", never down."""

from courses_api import http
from courses_api.container import Container
from courses_api.http import Response
from courses_api.models import HealthReport

app = http.create_app(verify_tokens=True)  # no authorizer on this route: see courses_api.tokens
container = Container()


@app.get(
    "/health",
    summary="Health of the API: ok or degraded (dependency details for admins only)",
    responses={200: http.json_body(HealthReport, "Healthy or degraded"), **http.problem_responses(503)},
)
def health() -> Response[str]:
    return http.health_response(container.health(), http.current_caller(app))


lambda_handler = http.api_handler(app)
