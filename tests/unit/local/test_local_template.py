"""Routes, authorizers, streams and gateway behaviour read from the real template.yaml."""

from __future__ import annotations

import pytest

from local.apigw import Unresolvable, api_settings, resolve, template_environment
from local.functions import function_specs
from local.template import load_template

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
        ("GET", "/health", "lambda"),
        ("GET", "/courses/{course_id}", "lambda"),
        ("GET", "/instructors/{instructor_id}/courses", "lambda"),
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


def test_the_stream_invalidator_subscribes_to_the_courses_stream() -> None:
    streams = [s for spec in SPECS.values() for s in spec.streams]
    assert [s.table_id for s in streams] == ["CoursesTable"]
    assert streams[0].report_batch_item_failures


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


def test_functions_carry_their_own_resolvable_environment() -> None:
    authorizer = dict(SPECS["OptionalAuthorizerFunction"].environment)
    assert "USER_POOL_ID" not in authorizer  # a resource reference: only CloudFormation knows it
    assert SPECS["GetCourseFunction"].environment == ()
