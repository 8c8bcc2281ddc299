"""Routes, authorizers, streams and gateway behaviour read from the real template.yaml."""

from __future__ import annotations

import pickle

import pytest

from local.apigw import api_settings
from local.invoke import LambdaContext
from local.specs import DEFAULT_MEMORY_MB, function_specs
from local.template import Unresolvable, load_template, resolve, resolve_in, template_environment

TEMPLATE = load_template()
SPECS = function_specs(TEMPLATE)
ROUTES = {(route.method, route.path): route for spec in SPECS.values() for route in spec.routes}


def test_every_route_of_the_spec_is_in_the_template() -> None:
    assert set(ROUTES) == {
        ("GET", "/courses"), ("POST", "/courses"), ("GET", "/courses/{course_id}"),
        ("PATCH", "/courses/{course_id}"), ("DELETE", "/courses/{course_id}"),
        ("GET", "/instructors/{instructor_id}/courses"), ("POST", "/courses/{course_id}/enrollments"),
        ("GET", "/courses/{course_id}/enrollments"), ("GET", "/me/enrollments"), ("GET", "/health"),
    }


@pytest.mark.parametrize(
    ("method", "path", "kind"),
    [
        ("GET", "/courses", None),
        ("GET", "/health", None),  # the function verifies a token itself
        ("GET", "/courses/{course_id}", None),
        ("GET", "/instructors/{instructor_id}/courses", None),
        ("POST", "/courses", "cognito"),
        ("GET", "/me/enrollments", "cognito"),
    ],
)
def test_authorizers_follow_the_template(method: str, path: str, kind: str | None) -> None:
    authorizer = ROUTES[(method, path)].authorizer
    assert (authorizer.kind if authorizer else None) == kind


def test_handlers_live_in_the_function_folders() -> None:
    spec = SPECS["GetCourseFunction"]
    assert spec.module_file.parts[-3:] == ("functions", "get_course", "app.py")
    assert spec.handler_name == "lambda_handler"
    assert any(path.name == "shared" for path in spec.layer_dirs)


def test_the_stream_functions_subscribe_to_the_courses_and_enrollments_streams() -> None:
    invalidator = SPECS["StreamInvalidatorFunction"].streams
    assert sorted(s.table_id for s in invalidator) == ["CoursesTable", "EnrollmentsTable"]
    assert all(s.report_batch_item_failures for s in invalidator)
    # the counter reads the Enrollments stream in tumbling windows (the local poller runs them)
    (counter,) = SPECS["EnrollmentCounterFunction"].streams
    assert (counter.table_id, counter.tumbling_window_s) == ("EnrollmentsTable", 60)


def test_write_bodies_are_validated_against_the_api_models() -> None:
    assert ROUTES[("POST", "/courses")].request_model == "CourseCreate"
    assert ROUTES[("PATCH", "/courses/{course_id}")].request_model == "CoursePatch"
    assert ROUTES[("GET", "/courses")].request_model is None


def test_api_settings_resolve_parameter_defaults() -> None:
    api = api_settings(TEMPLATE)
    assert api.stage == TEMPLATE["Parameters"]["Stage"]["Default"]
    assert api.cors is not None
    assert api.cors.allow_origin.startswith("http")
    assert "CourseCreate" in api.models
    unauthorized = api.response_for("UNAUTHORIZED", 401)
    assert unauthorized is not None
    assert unauthorized.template is not None


def test_intrinsics_resolve_against_parameters_and_environment() -> None:
    parameters = {"Origins": {"Default": "https://a.example,https://b.example"}, "Stage": {"Default": "dev"}}
    value = {"Fn::Sub": ["'${Origin}'", {"Origin": {"Fn::Select": [1, {"Fn::Split": [",", {"Ref": "Origins"}]}]}}]}
    assert resolve(value, parameters, env={}) == "'https://b.example'"
    assert resolve({"Fn::Sub": "api-${Stage}"}, parameters, env={}) == "api-dev"
    with pytest.raises(Unresolvable):
        resolve({"Fn::GetAtt": ["Table", "Arn"]}, parameters, env={})
    with pytest.raises(Unresolvable):
        resolve({"Ref": "SomeResource"}, parameters, env={})


def test_template_environment_keeps_only_what_resolves_locally() -> None:
    environment = template_environment(TEMPLATE)
    assert "COURSES_TABLE" not in environment  # a table reference: set by create_tables
    assert "CURSOR_SECRET" not in environment  # a Secrets Manager dynamic reference
    assert environment["CACHE_KEY_PREFIX"] == TEMPLATE["Parameters"]["CacheKeyPrefix"]["Default"]


def test_memory_and_timeout_come_from_the_template_parameters_included() -> None:
    # Globals: MemorySize: !Ref FunctionMemorySize (a parameter), Timeout: 10.
    memory = TEMPLATE["Parameters"]["FunctionMemorySize"]["Default"]
    assert memory != DEFAULT_MEMORY_MB
    get_course = SPECS["GetCourseFunction"]
    assert (get_course.memory_mb, get_course.timeout_s) == (memory, TEMPLATE["Globals"]["Function"]["Timeout"])
    # A function's own values win over Globals.
    jwks = TEMPLATE["Resources"]["UserPoolJwksFunction"]["Properties"]
    assert (SPECS["UserPoolJwksFunction"].memory_mb, SPECS["UserPoolJwksFunction"].timeout_s) == (
        jwks["MemorySize"], jwks["Timeout"])
    invalidator = TEMPLATE["Resources"]["StreamInvalidatorFunction"]["Properties"]
    assert (SPECS["StreamInvalidatorFunction"].memory_mb, SPECS["StreamInvalidatorFunction"].timeout_s) == (
        memory, invalidator["Timeout"])


def test_the_lambda_context_carries_the_templates_memory_and_timeout() -> None:
    context = LambdaContext.of(SPECS["GetCourseFunction"], "request-1")
    assert context.function_name == "GetCourseFunction"
    assert context.memory_limit_in_mb == TEMPLATE["Parameters"]["FunctionMemorySize"]["Default"]
    assert context.aws_request_id == "request-1"
    assert context.invoked_function_arn.endswith(":function:GetCourseFunction")
    assert 9_000 < context.get_remaining_time_in_millis() <= 10_000


def test_global_environment_resolves_parameter_defaults_and_conditions() -> None:
    environment = template_environment(TEMPLATE)
    parameters = TEMPLATE["Parameters"]
    assert environment["CACHE_SCHEMA_VERSION"] == str(parameters["CacheSchemaVersion"]["Default"])
    assert environment["NEAR_CACHE_TTL_S"] == str(parameters["NearCacheTtlSeconds"]["Default"])
    assert environment["POWERTOOLS_LOG_LEVEL"] == parameters["LogLevel"]["Default"]
    assert environment["REDIS_SOCKET_TIMEOUT_MS"] == "50"
    assert "REDIS_URL" not in environment  # the cache endpoint is a resource attribute


def test_conditions_evaluate_on_parameter_defaults() -> None:
    template = {
        "Parameters": {"Stage": {"Default": "dev"}},
        "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
                       "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]}},
    }
    assert resolve_in(template, {"Fn::If": ["IsProd", 3, 1]}, env={}) == 1
    assert resolve_in(template, {"Fn::If": ["NotProd", "yes", "no"]}, env={}) == "yes"
    with pytest.raises(Unresolvable):
        resolve_in(template, {"Fn::If": ["Missing", 1, 2]}, env={})


def test_functions_carry_their_own_resolvable_environment() -> None:
    # TOKEN_JWKS, TOKEN_ISSUER, TOKEN_AUDIENCE name resources: only CloudFormation knows them
    # (make run gives its own stand-in pool's, local.runtime.with_token_environment).
    assert SPECS["GetCourseFunction"].environment == ()
    assert SPECS["ListCoursesFunction"].environment == ()


def test_specs_are_plain_values_that_cross_into_container_processes() -> None:
    # The server sends each spec to its container processes by pickle.
    assert pickle.loads(pickle.dumps(SPECS)) == SPECS
