"""The routes anonymous callers may use: no Lambda authorizer, the user pool's keys from the deploy.

A REST API cannot skip a Lambda authorizer for tokenless requests, so ``GET /courses/{id}``,
``GET /instructors/{id}/courses`` and ``GET /health`` have none (one invocation per anonymous
request); their functions verify a bearer token themselves against the JWKS a custom resource
fetched at deploy time (the VPC has no NAT).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from tests.template.stack import Stack

REPO = Path(__file__).resolve().parents[2]
TOKEN_ROUTES = {
    ("get", "/courses/{course_id}"): "GetCourseFunction",
    ("get", "/instructors/{instructor_id}/courses"): "ListInstructorCoursesFunction",
    ("get", "/health"): "HealthFunction",
}
TOKEN_VARIABLES = {
    "TOKEN_JWKS": {"Fn::GetAtt": ["UserPoolJwks", "Jwks"]},
    "TOKEN_ISSUER": {"Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}"},
    "TOKEN_AUDIENCE": {"Ref": "UserPoolClient"},
}
# Lambda quotas (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html): function
# environment variables "4 KB, for all environment variables associated with the function, in aggregate".
ENVIRONMENT_LIMIT_BYTES = 4096


def _api_body(transformed: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = transformed["Resources"]["CoursesApi"]["Properties"]["Body"]
    return body


def test_the_anonymous_routes_have_no_authorizer(transformed: dict[str, Any]) -> None:
    """SAM: ``Authorizer: NONE`` on an event overrides the API's DefaultAuthorizer, which the
    document records as the ``NONE`` security requirement (no authorizer runs)."""
    paths = _api_body(transformed)["paths"]
    for (method, path), _ in TOKEN_ROUTES.items():
        assert paths[path][method]["security"] == [{"NONE": []}], (method, path)
    definitions = _api_body(transformed).get("securityDefinitions", {})
    assert set(definitions) == {"CognitoAuthorizer"}, "no Lambda authorizer is left in the API"
    assert not list(Stack.of(transformed).resources("AWS::ApiGateway::Authorizer")) or all(
        res["Properties"]["Type"] == "COGNITO_USER_POOLS"
        for _, res in Stack.of(transformed).resources("AWS::ApiGateway::Authorizer"))


def test_each_token_route_gets_the_pool_keys_issuer_and_client(transformed: dict[str, Any]) -> None:
    """The functions verify ``iss`` (the pool), ``aud`` (the app client) and the signature with the
    keys the custom resource fetched; the functions behind the Cognito authorizer get none of it."""
    resources = transformed["Resources"]
    for function in TOKEN_ROUTES.values():
        variables = resources[function]["Properties"]["Environment"]["Variables"]
        for name, value in TOKEN_VARIABLES.items():
            assert variables[name] == value, (function, name)
    others = [lid for lid, res in resources.items()
              if res["Type"] == "AWS::Lambda::Function" and lid not in TOKEN_ROUTES.values()]
    assert others
    for function in others:
        variables = (resources[function]["Properties"].get("Environment") or {}).get("Variables", {})
        assert not set(variables) & set(TOKEN_VARIABLES), function
    source = (REPO / "layers" / "shared" / "courses_api" / "tokens.py").read_text(encoding="utf-8")
    assert 'JWKS_ENV, ISSUER_ENV, AUDIENCE_ENV = "TOKEN_JWKS", "TOKEN_ISSUER", "TOKEN_AUDIENCE"' in source


def _stack_names() -> list[str]:
    config = tomllib.loads((REPO / "samconfig.toml").read_text(encoding="utf-8"))
    return [section["global"]["parameters"]["stack_name"] for section in config.values() if isinstance(section, dict)]


def _longest_origins() -> str:
    config = tomllib.loads((REPO / "samconfig.toml").read_text(encoding="utf-8"))
    values = [item.split("=", 1)[1] for section in config.values() if isinstance(section, dict)
              for item in section["deploy"]["parameters"]["parameter_overrides"] if item.startswith("AllowedOrigins=")]
    return str(max(values, key=len))


def test_the_environment_with_the_keys_fits_lambdas_4_kb(transformed: dict[str, Any]) -> None:
    """Every value is bounded from above: literals as written; the JWKS by the cap the custom
    resource enforces (it fails the deploy past it); names CloudFormation generates from a stack
    name of 40 characters (samconfig's are shorter); Cognito ids and ARNs at their documented
    lengths (pool id 55, app client id 128, cache and user names 40, region 14)."""
    assert max(len(name) for name in _stack_names()) <= 40
    stack, region = "s" * 40, "r" * 14
    app = (REPO / "functions" / "jwks_resource" / "app.py").read_text(encoding="utf-8")
    found = re.search(r"^MAX_JWKS_BYTES = (\d+)$", app, re.MULTILINE)
    assert found
    generated = f"{stack}-CoursesTable-ABCDEFGHIJKLM"  # {stack}-{logical id}-{13 characters}
    bounds = {
        "COURSES_TABLE": generated, "ENROLLMENTS_TABLE": generated + "XXX", "IDEMPOTENCY_TABLE": generated + "XXX",
        "REDIS_URL": f"rediss://{'c' * 40}-abcdef.serverless.{region[:4]}{region}.cache.amazonaws.com:6379",
        "REDIS_USERNAME": "u" * 40, "REDIS_CACHE_NAME": "c" * 40, "CACHE_KEY_PREFIX": "p" * 32,
        "CACHE_SCHEMA_VERSION": "v" * 8, "NEAR_CACHE_TTL_S": "9" * 8, "ALLOWED_ORIGINS": _longest_origins(),
        "POWERTOOLS_SERVICE_NAME": stack, "POWERTOOLS_LOG_LEVEL": "WARNING",
        "CURSOR_SECRET_ID": f"arn:aws:secretsmanager:{region}:123456789012:secret:{generated}-abcdef",
        "TOKEN_JWKS": "j" * int(found.group(1)),
        "TOKEN_ISSUER": f"https://cognito-idp.{region}.amazonaws.com/{'p' * 55}", "TOKEN_AUDIENCE": "a" * 128,
    }
    for function in TOKEN_ROUTES.values():
        variables = transformed["Resources"][function]["Properties"]["Environment"]["Variables"]
        size = sum(len(name) + len(value if isinstance(value, str) else bounds[name])
                   for name, value in variables.items())
        assert size <= ENVIRONMENT_LIMIT_BYTES, (function, size)


def test_the_jwks_resource_runs_once_per_deploy_outside_the_vpc_with_no_permission(
    transformed: dict[str, Any],
) -> None:
    """It reads a public URL and answers CloudFormation's pre-signed S3 URL: neither needs an AWS
    permission, so its role holds the basic execution policy (logs) and nothing else. It is outside
    the VPC (Cognito's endpoint is on the internet; the VPC has no NAT), not in the layer's reach."""
    stack = Stack.of(transformed)
    function = stack.resource("UserPoolJwksFunction")["Properties"]
    assert "VpcConfig" not in function
    assert "Layers" not in function
    assert "Environment" not in function
    role = stack.resource("UserPoolJwksFunctionRole")["Properties"]
    assert role["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]
    assert not role.get("Policies")
    resource = stack.resource("UserPoolJwks")
    assert resource["Type"] == "Custom::UserPoolJwks"
    properties = resource["Properties"]
    assert properties["ServiceToken"] == {"Fn::GetAtt": ["UserPoolJwksFunction", "Arn"]}
    assert properties["JwksUrl"] == {
        "Fn::Sub": "https://cognito-idp.${AWS::Region}.amazonaws.com/${UserPool}/.well-known/jwks.json"}


def test_every_deploy_refetches_the_keys(source: dict[str, Any]) -> None:
    """CloudFormation sends a custom resource an Update only "if you change any property"; Cognito
    "might rotate signing keys in your user pool". ``make deploy`` passes a new JwksRefresh each
    time, and the resource names it among its properties."""
    assert source["Resources"]["UserPoolJwks"]["Properties"]["Refresh"] == {"Ref": "JwksRefresh"}
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "JwksRefresh=$$(date -u +%Y%m%dT%H%M%SZ)" in makefile
    deploys = [line for line in makefile.splitlines() if "$(SAM) deploy " in line]
    assert deploys
    assert all("$(JWKS_REFRESH)" in line for line in deploys if "--guided" not in line)


def test_nothing_of_the_lambda_authorizer_is_left(source: dict[str, Any]) -> None:
    text = (REPO / "template.yaml").read_text(encoding="utf-8") + (REPO / ".checkov.yaml").read_text(encoding="utf-8")
    assert "OptionalAuthorizer" not in text
    assert not (REPO / "functions" / "optional_authorizer").exists()
    for lid, resource in source["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            assert (REPO / resource["Properties"]["CodeUri"]).is_dir(), lid
