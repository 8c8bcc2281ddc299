"""What every API function shares: the resolver, the Lambda entry point and response shapes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any
from weakref import WeakSet

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.event_handler.content_types import APPLICATION_JSON
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from courses_api.cache.api import Cached
from courses_api.data.capacity import CapacityMeter
from courses_api.domain.auth import Caller
from courses_api.errors import BadRequest
from courses_api.http.body import strict_json_loads
from courses_api.http.caller import caller_from_event
from courses_api.http.problems import PROBLEM_CONTENT_TYPE, Problem, register_problem_handlers
from courses_api.lifecycle import end_init
from courses_api.models import CourseSummary, HealthReport, HealthStatus
from courses_api.observability import logger, metrics, trace_handler
from courses_api.settings import HttpSettings

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
MAX_VERSION_DIGITS = 12  # an ETag's version; far beyond any course's number of edits

# Parameters shared by several routes, declared once so their validation cannot diverge.
CourseIdPath = Annotated[str, Path(pattern=ID_PATTERN, description="Course id")]
UserIdPath = Annotated[str, Path(pattern=ID_PATTERN, description="User (instructor) id")]
LimitQuery = Annotated[int, Query(ge=1, le=100, description="Page size, 1-100")]
CursorQuery = Annotated[
    str | None, Query(max_length=2048, description="The next_cursor of the previous page, unchanged")
]
# An ETag of this API (W/"3.17", "3", W/"3"), a bare version or "*": anything else is refused (400).
ETAG_PATTERN = r'^(\*|(W/)?"?[0-9]{1,12}(\.[0-9]{1,12})?"?)$'
IfNoneMatchHeader = Annotated[str | None, Header(alias="If-None-Match", max_length=64, pattern=ETAG_PATTERN)]
IfMatchHeader = Annotated[str | None, Header(alias="If-Match", max_length=64, pattern=ETAG_PATTERN)]
LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def cors_config(settings: HttpSettings) -> CORSConfig | None:
    """CORS only for the configured origins (never ``*`` on an authenticated API)."""
    origins = settings.cors_origins
    if not origins:
        return None
    return CORSConfig(
        allow_origin=origins[0],
        extra_origins=origins[1:],
        allow_headers=["Authorization", "Content-Type", "If-Match", "If-None-Match", "Idempotency-Key"],
        expose_headers=["ETag", "Location", "X-Cache"],
        max_age=600,
    )


def create_app(settings: HttpSettings | None = None, *, verify_tokens: bool = False) -> APIGatewayRestResolver:
    """A REST resolver with request validation and problem+json errors for every failure.

    CORS comes from ``settings`` (``ALLOWED_ORIGINS``), read from the environment when not
    given: only the HTTP part, so importing a function needs no table names. ``verify_tokens``
    (routes without an authorizer): the caller is the bearer token, verified before the route runs.
    """
    app = APIGatewayRestResolver(enable_validation=True,
                                 cors=cors_config(settings or HttpSettings.from_environment()),
                                 json_body_deserializer=strict_json_loads)
    register_problem_handlers(app)
    if verify_tokens:
        _TOKEN_APPS.add(app)
        app.use(middlewares=[_authenticate])
    return app


_TOKEN_APPS: WeakSet[APIGatewayRestResolver] = WeakSet()


def _authenticate(app: APIGatewayRestResolver, next_middleware: Callable[[APIGatewayRestResolver], Any]) -> Any:
    current_caller(app)  # a bad token is a 401 before any read
    return next_middleware(app)


def json_body(model: type[BaseModel], description: str) -> OpenAPIResponse:
    """An OpenAPI response entry for a JSON body of ``model``."""
    return {"description": description, "content": {APPLICATION_JSON: {"model": model}}}


def problem_responses(*statuses: int) -> dict[int, OpenAPIResponse]:
    """OpenAPI ``responses`` entries documenting problem+json bodies for ``statuses``."""
    # ``model`` (not an inline schema) lets Powertools put Problem and FieldError in components.
    return {
        status: {"description": "Problem details (RFC 9457)", "content": {PROBLEM_CONTENT_TYPE: {"model": Problem}}}
        for status in sorted({400, 422, *statuses})
    }


def api_handler(app: APIGatewayRestResolver) -> LambdaHandler:
    """The Lambda entry point of one API function: logs, traces, metrics and read-cost metering.

    Every function module ends with it, so its call also ends Lambda's init (``lifecycle.end_init``).
    """

    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
    @trace_handler
    @metrics.log_metrics(capture_cold_start_metric=True)
    def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        cost = CapacityMeter.begin_request()
        response = vary_on_caller(app.resolve(event, context), current_caller(app, event).is_authenticated)
        metrics.add_metric(name="ReadCapacityUnits", unit=MetricUnit.Count, value=cost.rcu)
        logger.info(
            "request served",
            extra={"status": response.get("statusCode"), "read_units": cost.rcu,
                   "dynamodb_calls": cost.total_calls},
        )
        return response

    end_init()
    return lambda_handler  # type: ignore[no-any-return]  # Powertools' decorators are untyped


def _header_name(headers: dict[str, list[str]], name: str) -> str:
    return next((key for key in headers if key.lower() == name.lower()), name)


def _directives(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def vary_on_caller(response: dict[str, Any], signed_in: bool) -> dict[str, Any]:
    """Every answer varies on ``Authorization`` (who asks changes it: drafts, roles), and a
    signed-in caller's answer is ``Cache-Control: private``, so no shared cache (a CDN, a
    corporate proxy) keeps one user's response for another.

    The REST resolver answers with ``multiValueHeaders`` only (API Gateway's multi-value form).
    """
    multi: dict[str, list[str]] = response.setdefault("multiValueHeaders", {})
    vary = _header_name(multi, "Vary")
    varies = _directives(multi.get(vary, []))
    if "authorization" not in {item.lower() for item in varies}:
        varies.append("Authorization")
    multi[vary] = [", ".join(varies)]
    if signed_in:
        cache_control = _header_name(multi, "Cache-Control")
        directives = [d for d in _directives(multi.get(cache_control, []))
                      if d.lower() != "public" and not d.lower().startswith("s-maxage")]
        if "private" not in {d.lower() for d in directives}:
            directives.insert(0, "private")
        multi[cache_control] = [", ".join(directives)]
    return response


def current_caller(app: APIGatewayRestResolver, event: dict[str, Any] | None = None) -> Caller:
    """The caller of the request being resolved (``event``, else the resolver's current one)."""
    return caller_from_event(app.current_event.raw_event if event is None else event, from_token=app in _TOKEN_APPS)


def parse_etag(value: str | None, header: str) -> tuple[int, int | None] | None:
    """An ETag of this API → ``(version, count)`` (count ``None`` for a version tag); ``None``
    when absent or ``*``; 400 for anything else."""
    if value is None or value.strip() in ("", "*"):
        return None
    version, dot, count = value.strip().removeprefix("W/").strip('"').partition(".")
    # ASCII digits only: str.isdigit() also accepts "²" (int() then fails) and other scripts' digits.
    parts = (version, count) if dot else (version,)
    if not all(p.isascii() and p.isdigit() and len(p) <= MAX_VERSION_DIGITS for p in parts):
        raise BadRequest(f"{header} must be an ETag returned by this API, such as W/\"3.17\".")
    return int(version), int(count) if dot else None


def parse_version_header(value: str | None, header: str) -> int | None:
    """``If-Match`` → the version it names: it guards the author's fields only, so the count
    part of a representation tag is ignored (enrollments never make an edit stale)."""
    parsed = parse_etag(value, header)
    return None if parsed is None else parsed[0]


def course_etag(course: CourseSummary) -> str:
    """The weak validator of a course's representation: its version and the count shown.

    The count changes without a version bump (an enrollment is not an edit), so a tag of the
    version alone would let a revalidating client or CDN keep an old count indefinitely
    (RFC 9110 §8.8.1: a validator changes when the representation data does).
    """
    return f'W/"{course.version}.{course.enrollment_count}"'


def is_not_modified(if_none_match: str | None, course: CourseSummary) -> bool:
    """``If-None-Match`` by weak comparison (RFC 9110 §13.1.2): the same version *and* count."""
    parsed = parse_etag(if_none_match, "If-None-Match")
    return parsed == (course.version, course.enrollment_count)


def json_response(
    body: BaseModel,
    *,
    status: int = 200,
    cached: Cached[Any] | None = None,
    etag: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    """A JSON response, serialised once by pydantic, with ``X-Cache`` and ``ETag`` when known."""
    all_headers = dict(headers or {})
    if cached is not None:
        all_headers["X-Cache"] = cached.outcome.value
    if etag is not None:
        all_headers["ETag"] = etag
    return Response(status_code=status, content_type=APPLICATION_JSON, body=body.model_dump_json(), headers=all_headers)


def health_response(report: HealthReport, caller: Caller) -> Response[str]:
    """``/health``: ``ok|degraded`` for everyone; the dependencies' internals (breaker,
    near cache) only for admins, and always in the log (a warning when degraded)."""
    log = logger.info if report.status == "ok" else logger.warning
    log("health", extra={"health": report.model_dump(mode="json")})
    body: BaseModel = report if caller.is_admin else HealthStatus(status=report.status)
    return json_response(body, headers={"Cache-Control": "no-store"})


def not_modified(course: CourseSummary, cached: Cached[Any]) -> Response[str]:
    """304 for a conditional GET whose ETag still matches."""
    return Response(status_code=304, body="", headers={"ETag": course_etag(course), "X-Cache": cached.outcome.value})


def no_content() -> Response[str]:
    """204 with an empty body."""
    return Response(status_code=204, body="")
