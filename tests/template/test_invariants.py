"""Invariants of ``template.yaml`` that cfn-lint and checkov do not check.

Each test encodes one documented AWS rule (quoted in its docstring) or one rule of this
product, on the template as CloudFormation receives it: transformed by SAM (offline, the
same translator ``sam deploy`` uses) and, where it matters, evaluated for each deployment
mode. A test fails when the defect it names is reintroduced.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.template.stack import Stack, transform

REPO = Path(__file__).resolve().parents[2]
CACHE_PACKAGE = REPO / "layers" / "shared" / "courses_api" / "cache"
API_FUNCTIONS = (
    "ListCoursesFunction", "GetCourseFunction", "ListInstructorCoursesFunction", "CreateCourseFunction",
    "UpdateCourseFunction", "DeleteCourseFunction", "EnrollFunction", "ListMyEnrollmentsFunction",
    "ListCourseEnrollmentsFunction", "HealthFunction",
)
CACHE_FUNCTIONS = (*API_FUNCTIONS, "StreamInvalidatorFunction")
VPC_FUNCTIONS = (*CACHE_FUNCTIONS, "EnrollmentCounterFunction")  # the counter reaches DynamoDB only

# What each function's code calls (read from the layer: repositories, enrollments, idempotency,
# the health probe), as (IAM action, table or table/index/name).
DYNAMODB_ACCESS: dict[str, set[tuple[str, str]]] = {
    # Every route that shows a course merges its enrollment count: BatchGetItem of the row and its count shards.
    "ListCoursesFunction": {("dynamodb:Query", "CoursesTable/index/ByCategory"),
                            ("dynamodb:Query", "CoursesTable/index/ByStatus"),
                            ("dynamodb:BatchGetItem", "CoursesTable")},
    "GetCourseFunction": {("dynamodb:GetItem", "CoursesTable")},
    "ListInstructorCoursesFunction": {("dynamodb:Query", "CoursesTable/index/ByInstructor"),
                                      ("dynamodb:BatchGetItem", "CoursesTable")},
    "CreateCourseFunction": {("dynamodb:PutItem", "CoursesTable")},
    "UpdateCourseFunction": {("dynamodb:UpdateItem", "CoursesTable")},
    "DeleteCourseFunction": {("dynamodb:DeleteItem", "CoursesTable")},
    # The course read (published?); the conditional Put of the enrollment row; Powertools idempotency records.
    "EnrollFunction": {("dynamodb:PutItem", "EnrollmentsTable"), ("dynamodb:GetItem", "CoursesTable"),
                       *{(action, "IdempotencyTable") for action in
                         ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")}},
    "ListMyEnrollmentsFunction": {("dynamodb:Query", "EnrollmentsTable"), ("dynamodb:BatchGetItem", "CoursesTable")},
    "ListCourseEnrollmentsFunction": {("dynamodb:GetItem", "CoursesTable"),
                                      ("dynamodb:Query", "EnrollmentsTable/index/ByCourse")},
    "HealthFunction": {("dynamodb:GetItem", "CoursesTable")},
    # Stream reads only: it writes no table.
    "StreamInvalidatorFunction": {(action, f"{table}/stream") for table in ("CoursesTable", "EnrollmentsTable")
                                  for action in ("dynamodb:DescribeStream", "dynamodb:GetRecords",
                                                 "dynamodb:GetShardIterator", "dynamodb:ListStreams")},
    # The Enrollments stream; TransactWriteItems of two UpdateItems (count, mark); a recount's Select=COUNT.
    "EnrollmentCounterFunction": {("dynamodb:UpdateItem", "CoursesTable"),
                                  ("dynamodb:Query", "EnrollmentsTable/index/ByCourse"),
                                  *{(action, "EnrollmentsTable/stream") for action in (
                                      "dynamodb:DescribeStream", "dynamodb:GetRecords",
                                      "dynamodb:GetShardIterator", "dynamodb:ListStreams")}},
    "UserPoolJwksFunction": set(),
}
AWS_MANAGED = "arn:aws:iam::aws:policy/"
# AWS managed policies SAM attaches: logs, X-Ray, VPC network interfaces, stream polling.
ALLOWED_MANAGED_POLICIES = {
    "service-role/AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess",
    "service-role/AWSLambdaVPCAccessExecutionRole", "service-role/AWSLambdaDynamoDBExecutionRole",
}


def _target(resource: Any) -> str:
    """``{"Fn::GetAtt": ["CoursesTable", "Arn"]}`` → ``CoursesTable``; index and stream ARNs likewise."""
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return str(resource["Fn::GetAtt"][0])
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        sub = resource["Fn::Sub"]
        text, variables = (sub, {}) if isinstance(sub, str) else sub
        match = re.fullmatch(r"\$\{(\w+)\.Arn\}(/index/\w+)", text)
        if match:
            return match.group(1) + match.group(2)
        if "/stream/" in text:
            return str(variables["tableName"]["Ref"]) + "/stream"
        if "${tableName}" in text:  # SAM policy templates (DynamoDBCrudPolicy and the like)
            return str(variables["tableName"]["Ref"]) + str(text).split("${tableName}", 1)[1]
    return json.dumps(resource)


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in role["Properties"].get("Policies", []):
        statements.extend(policy["PolicyDocument"]["Statement"])
    return statements


def _dynamodb_grants(role: dict[str, Any]) -> set[tuple[str, str]]:
    grants: set[tuple[str, str]] = set()
    for statement in _statements(role):
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for action in actions:
            if action.startswith("dynamodb:"):
                grants |= {(action, _target(resource)) for resource in resources}
    return grants


def _gateway_responses(transformed: dict[str, Any]) -> dict[str, dict[str, Any]]:
    body = transformed["Resources"]["CoursesApi"]["Properties"]["Body"]
    responses: dict[str, dict[str, Any]] = body["x-amazon-apigateway-gateway-responses"]
    return responses


def _api_body(transformed: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = transformed["Resources"]["CoursesApi"]["Properties"]["Body"]
    return body


# ---------------------------------------------------------------------------------- cache
def test_valkey_user_group_holds_only_users_that_authenticate(transformed: dict[str, Any]) -> None:
    """ElastiCache RBAC: "A user group configured for the "VALKEY" engine can only contain users
    who are using an authentication mechanism (either password or IAM)." A group also needs a
    user named ``default``; here it is disabled ("off") and has a generated password."""
    stack = Stack.of(transformed)
    group = stack.resource("CacheUserGroup")["Properties"]
    assert group["Engine"] == "valkey"
    members = {ref["Ref"]: stack.resource(ref["Ref"])["Properties"] for ref in group["UserIds"]}
    for logical_id, user in members.items():
        mode = user["AuthenticationMode"]["Type"]
        assert mode in ("password", "iam"), f"{logical_id} authenticates with {mode!r}"
        assert not user.get("NoPasswordRequired"), logical_id
    default = [user for user in members.values() if user["UserName"] == "default"]
    assert len(default) == 1, "the group needs exactly one user named default"
    assert default[0]["AccessString"].split()[0] == "off"
    assert default[0]["AuthenticationMode"]["Passwords"] == [
        {"Fn::Sub": "{{resolve:secretsmanager:${CacheDefaultUserPassword}}}"}
    ]


REDIS_PY_COMMAND = {"delete": "del"}  # redis-py method names that differ from the command


def _commands_sent_by_the_cache_package() -> set[str]:
    """Commands in redis-py calls and Lua ``redis.call`` of the cache package, plus the cluster
    client's own discovery (``CLUSTER SLOTS``) and the health probe."""
    commands: set[str] = set()
    for path in CACHE_PACKAGE.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        commands |= {name.lower() for name in re.findall(r"redis\.call\('(\w+)'", text)}
        commands |= {name.lower() for name in re.findall(r"execute_command\(\"(\w+)\"", text)}
        commands |= {REDIS_PY_COMMAND.get(name, name) for name in re.findall(r"\b(?:client|pipe)\.(\w+)\(", text)}
    commands -= {"pipeline", "execute", "execute_command"}  # client-side batching and the raw call above
    return commands | {"cluster|slots"}


def test_cache_user_may_send_only_the_commands_the_code_sends_on_its_prefix(transformed: dict[str, Any]) -> None:
    """ElastiCache RBAC access strings follow Valkey ACL rules ("+<command>", "~<pattern>"): the
    app user may run the commands the cache package sends, on keys under its own prefix, and
    nothing that walks or empties the keyspace."""
    access = Stack.of(transformed).resource("CacheAppUser")["Properties"]["AccessString"]
    assert access == {"Fn::Sub": access["Fn::Sub"]}, "the key prefix comes from the CacheKeyPrefix parameter"
    tokens = access["Fn::Sub"].split()
    assert tokens[:3] == ["on", "~${CacheKeyPrefix}:*", "-@all"], tokens
    allowed = {token[1:].lower() for token in tokens[3:]}
    assert all(token.startswith("+") for token in tokens[3:]), tokens
    assert allowed == _commands_sent_by_the_cache_package()
    assert not allowed & {"keys", "scan", "flushall", "flushdb", "config", "@all"}


def test_every_function_in_the_vpc_may_connect_to_the_cache_through_one_policy(transformed: dict[str, Any]) -> None:
    """ElastiCache IAM auth: "the IAM identity must have the elasticache:Connect permission on both
    the cache and the user". One managed policy grants it to every function in the VPC."""
    stack = Stack.of(transformed)
    policy = stack.resource("CacheConnectPolicy")["Properties"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "elasticache:Connect"
    assert statement["Resource"] == [{"Fn::GetAtt": ["Cache", "ARN"]}, {"Fn::GetAtt": ["CacheAppUser", "Arn"]}]
    assert {ref["Ref"] for ref in policy["Roles"]} == {f"{name}Role" for name in CACHE_FUNCTIONS}
    for name in VPC_FUNCTIONS:
        assert not [s for s in _statements(stack.resource(f"{name}Role")) if "elasticache" in json.dumps(s)], name


# ---------------------------------------------------------------------------------- IAM
@pytest.mark.parametrize("function", sorted(DYNAMODB_ACCESS))
def test_each_function_may_make_exactly_the_dynamodb_calls_its_code_makes(
    transformed: dict[str, Any], function: str
) -> None:
    """IAM best practice: "grant only the permissions required to perform a task". Reads get
    only the reads they make on the tables and indexes they read; writes only their write."""
    role = Stack.of(transformed).resource(f"{function}Role")
    assert _dynamodb_grants(role) == DYNAMODB_ACCESS[function]
    managed = {arn.removeprefix(AWS_MANAGED) for arn in role["Properties"].get("ManagedPolicyArns", [])}
    assert managed <= ALLOWED_MANAGED_POLICIES, managed - ALLOWED_MANAGED_POLICIES


def test_no_function_may_scan(transformed: dict[str, Any]) -> None:
    """The product never scans (every read is a Query, GetItem or BatchGetItem), and IAM says so:
    no statement grants dynamodb:Scan or a wildcard that covers it."""
    for logical_id, role in Stack.of(transformed).resources("AWS::IAM::Role"):
        for statement in _statements(role):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            for action in actions:
                assert action.lower() != "dynamodb:scan", logical_id
                assert not (action.startswith("dynamodb:") and "*" in action), f"{logical_id}: {action}"


def test_only_the_delete_route_deletes_courses(transformed: dict[str, Any]) -> None:
    """Only ``DELETE /courses/{course_id}`` may remove a course row."""
    stack = Stack.of(transformed)
    deleters = {
        logical_id.removesuffix("Role")
        for logical_id, role in stack.resources("AWS::IAM::Role")
        if ("dynamodb:DeleteItem", "CoursesTable") in _dynamodb_grants(role)
    }
    assert deleters == {"DeleteCourseFunction"}


# IAM's fine-grained access control for DynamoDB, from
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html and
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_dynamodb_attributes.html
# (read 2026-12-03): ``dynamodb:Attributes`` is the list of top-level attribute names a request
# accesses, checked with ``ForAllValues``; a write restricted to some attributes is paired with
# ``StringEqualsIfExists`` on ``dynamodb:ReturnValues`` (the guide's example allows NONE and the
# UPDATED_* values), since ``ALL_OLD``/``ALL_NEW`` would return attributes outside the list;
# ``dynamodb:LeadingKeys`` is the partition key values a request touches.
DOCUMENTED_SAFE_RETURN_VALUES = {"NONE", "UPDATED_OLD", "UPDATED_NEW"}


def _grant(role: dict[str, Any], action: str, table: str) -> dict[str, Any]:
    found = [s for s in _statements(role) if action in (s["Action"] if isinstance(s["Action"], list)
                                                       else [s["Action"]]) and _target(s["Resource"]) == table]
    assert len(found) == 1, found
    return found[0]


def _returns_only_listed_attributes(condition: dict[str, Any]) -> bool:
    allowed = condition.get("StringEqualsIfExists", {}).get("dynamodb:ReturnValues")
    values = {allowed} if isinstance(allowed, str) else set(allowed or ())
    return bool(values) and values <= DOCUMENTED_SAFE_RETURN_VALUES


def test_enroll_writes_only_the_enrollment_row_and_reads_only_course_rows(transformed: dict[str, Any]) -> None:
    """Enroll's one table write is the Put of the row ``enrollment_row`` builds: exactly those
    attributes (with the ReturnValues companion); it writes nothing in the Courses table, and
    reads only course rows there (LeadingKeys without ``#``: never the counter's marks)."""
    from courses_api.data.enrollments import enrollment_row

    role = Stack.of(transformed).resource("EnrollFunctionRole")
    put = _grant(role, "dynamodb:PutItem", "EnrollmentsTable")["Condition"]
    assert put["ForAllValues:StringEquals"]["dynamodb:Attributes"] == list(enrollment_row("u", "c", "t"))
    assert _returns_only_listed_attributes(put)
    assert not {a for a, t in _dynamodb_grants(role) if t == "CoursesTable"} - {"dynamodb:GetItem"}
    read = _grant(role, "dynamodb:GetItem", "CoursesTable")["Condition"]
    assert read == {"ForAllValues:StringNotLike": {"dynamodb:LeadingKeys": ["*#*"]}}


def test_the_counter_writes_only_counts_and_marks(transformed: dict[str, Any]) -> None:
    """The enrollment counter's UpdateItems (inside TransactWriteItems, authorised per action)
    name the key, ``enrollment_count`` and the mark's attributes, nothing else; and the
    ReturnValues companion is there. The Query grant only counts (``dynamodb:Select``)."""
    from courses_api.data.enrollment_counts import CountWriter, WindowSum

    role = Stack.of(transformed).resource("EnrollmentCounterFunctionRole")
    update = _grant(role, "dynamodb:UpdateItem", "CoursesTable")["Condition"]
    allowed = set(update["ForAllValues:StringEquals"]["dynamodb:Attributes"])
    assert _returns_only_listed_attributes(update)
    # every attribute the counter's transaction names is allowed
    actions = CountWriter(None, "Courses").transaction("c1", "shard", WindowSum(1, 1, 2, 3))  # type: ignore[arg-type]
    named = {"course_id"} | {name for a in actions for name in a["Update"]["ExpressionAttributeNames"].values()}
    assert named <= allowed
    assert allowed == {"course_id", "enrollment_count", "sequence", "expires_at"}
    query = _grant(role, "dynamodb:Query", "EnrollmentsTable/index/ByCourse")["Condition"]
    assert query == {"StringEquals": {"dynamodb:Select": "COUNT"}}


def test_stream_mappings_filter_nothing_and_the_counter_windows_one_batch_per_shard(
    transformed: dict[str, Any],
) -> None:
    """Lambda's event filtering drops records before the function sees them, and the local
    poller delivers every record: no mapping filters, so both deliver the same records.
    The counter's mapping has a tumbling window (``TumblingWindowInSeconds``, at most 900 s,
    https://docs.aws.amazon.com/lambda/latest/dg/services-ddb-windows.html, read 2026-12-03)
    and one batch per shard at a time (its marks are positions in one shard's order). DynamoDB
    Streams: "No more than two processes at most should be reading from the same streams
    shard at the same time" (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/
    Streams.html, read 2026-12-03): the Enrollments stream has two readers."""
    mappings = [r["Properties"] for _, r in Stack.of(transformed).resources("AWS::Lambda::EventSourceMapping")]
    assert all("FilterCriteria" not in m for m in mappings)
    enrollments = [m for m in mappings if "EnrollmentsTable" in json.dumps(m["EventSourceArn"])]
    assert len(enrollments) <= 2
    windowed = [m for m in enrollments if m.get("TumblingWindowInSeconds")]
    assert len(windowed) == 1
    assert 0 < windowed[0]["TumblingWindowInSeconds"] <= 900
    assert windowed[0]["ParallelizationFactor"] == 1


# ---------------------------------------------------------------------------------- API
DOCUMENTED_STATUS = {  # API Gateway's gateway response types and the codes the product sends
    "UNAUTHORIZED": 401, "EXPIRED_TOKEN": 401, "ACCESS_DENIED": 403, "WAF_FILTERED": 403,
    "MISSING_AUTHENTICATION_TOKEN": 404, "BAD_REQUEST_BODY": 400, "REQUEST_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415, "THROTTLED": 429, "INTEGRATION_TIMEOUT": 504,
}


def test_gateway_responses_keep_their_own_status_codes(transformed: dict[str, Any]) -> None:
    """API Gateway, gateway response types: DEFAULT_4XX is "the default gateway response for an
    unspecified response type with the status code of 4XX. Changing the status code of this
    fallback gateway response changes the status codes of all other 4XX responses to the new
    value" (and likewise DEFAULT_5XX). So the catch-alls set none; every other type sets its
    own, and its problem+json body states the same one."""
    responses = _gateway_responses(transformed)
    for fallback in ("DEFAULT_4XX", "DEFAULT_5XX"):
        assert "statusCode" not in responses[fallback], f"{fallback} would rewrite every other code"
        assert '"status"' not in responses[fallback]["responseTemplates"]["application/json"]
    for response_type, expected in DOCUMENTED_STATUS.items():
        response = responses[response_type]
        assert str(response.get("statusCode")) == str(expected), response_type
        body = response["responseTemplates"]["application/json"]
        assert f'"status":{expected}' in body, response_type
        headers = response["responseParameters"]
        assert headers["gatewayresponse.header.Content-Type"] == "'application/problem+json'"
        assert headers["gatewayresponse.header.Access-Control-Allow-Origin"] == "method.request.header.Origin"
    assert set(responses) == {*DOCUMENTED_STATUS, "DEFAULT_4XX", "DEFAULT_5XX"}


def test_preflight_echoes_any_listed_origin_on_every_route(transformed: dict[str, Any]) -> None:
    """Fetch standard: Access-Control-Allow-Origin carries one origin (or ``*``), so an API with
    several browser origins must echo the request's Origin when it is allowed. Every path with
    a route has an ``options`` mock integration that does, without an authorizer."""
    paths = _api_body(transformed)["paths"]
    for path, operations in paths.items():
        assert set(operations) - {"options"}, f"{path} has a preflight but no route"
        preflight = operations.get("options")
        assert preflight is not None, f"{path} has no CORS preflight"
        assert "security" not in preflight, f"the preflight of {path} must not need a token"
        integration = preflight["x-amazon-apigateway-integration"]
        assert integration["type"] == "mock"
        default = integration["responses"]["default"]
        assert "method.response.header.Access-Control-Allow-Origin" not in default["responseParameters"]
        assert default["responseParameters"]["method.response.header.Vary"] == "'Origin'"
        template = default["responseTemplates"]["application/json"]["Fn::Sub"]
        assert '#foreach($allowed in "${AllowedOrigins}".split(","))' in template
        assert "#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)" in template


def test_routes_name_a_request_validator_the_document_declares(transformed: dict[str, Any]) -> None:
    """API Gateway OpenAPI extensions: a method's ``x-amazon-apigateway-request-validator`` names
    a validator of the top-level ``x-amazon-apigateway-request-validators`` map."""
    body = _api_body(transformed)
    declared = body.get("x-amazon-apigateway-request-validators", {})
    used = {
        operation["x-amazon-apigateway-request-validator"]
        for operations in body["paths"].values() for operation in operations.values()
        if "x-amazon-apigateway-request-validator" in operation
    }
    assert used, "the write routes validate their bodies"
    assert used <= set(declared)
    assert declared["body-only"] == {"validateRequestBody": True, "validateRequestParameters": False}


def test_cognito_routes_take_id_tokens_like_the_functions_that_verify_them(transformed: dict[str, Any]) -> None:
    """AWS re:Post, Cognito authorizer 401s: "If you didn't configure any scopes on the API Gateway
    method, then make sure that you use a valid ID token." No method sets OAuth scopes, so the
    authorizer and the functions that verify tokens themselves accept the same token: a Cognito ID token."""
    body = _api_body(transformed)
    for path, operations in body["paths"].items():
        for method, operation in operations.items():
            for requirement in operation.get("security", []):
                for scopes in requirement.values():
                    assert scopes == [], f"{method.upper()} {path} sets OAuth scopes {scopes}"
    verifier = (REPO / "layers" / "shared" / "courses_api" / "tokens.py").read_text(encoding="utf-8")
    assert 'ID_TOKEN_USE = "id"' in verifier


def test_api_stage_is_created_after_the_account_logging_role(transformed: dict[str, Any]) -> None:
    """API Gateway refuses access logging on a fresh account until the account has a CloudWatch
    role: "CloudWatch Logs role ARN must be set in account settings to enable logging". The
    stage must wait for ``AWS::ApiGateway::Account`` whenever the stack creates it."""
    stage_ids = [lid for lid, _ in Stack.of(transformed).resources("AWS::ApiGateway::Stage")]
    assert len(stage_ids) == 1
    assert "ApiGatewayAccount" in Stack.of(transformed, CreateApiGatewayLoggingRole="true").dependencies(stage_ids[0])
    without = Stack.of(transformed, CreateApiGatewayLoggingRole="false")
    assert "ApiGatewayAccount" not in without.dependencies(stage_ids[0])  # and no dangling DependsOn


def test_no_usage_plan_claims_limits_it_cannot_apply(transformed: dict[str, Any]) -> None:
    """API Gateway usage plans: "The plan uses API keys to identify API clients". With no method
    requiring a key a plan's quota never applies, so there is none; stage throttling and the
    WAF's per-IP rate rule limit callers."""
    stack = Stack.of(transformed)
    assert not list(stack.resources("AWS::ApiGateway::UsagePlan"))
    assert not list(stack.resources("AWS::ApiGateway::ApiKey"))
    body = json.dumps(_api_body(transformed))
    assert "api_key" not in body
    assert "x-amazon-apigateway-api-key-source" not in body


# ---------------------------------------------------------------------------------- network
def test_existing_vpc_route_tables_get_no_restrictive_endpoint_policy(transformed: dict[str, Any]) -> None:
    """VPC gateway endpoints: "an endpoint policy ... controls access to the service from the VPC";
    a policy admitting only this stack's tables on route tables the stack does not own would cut
    every other workload there off DynamoDB. Only the VPC the stack creates gets one."""
    created = Stack.of(transformed).resource("DynamoDbEndpoint")["Properties"]
    assert "PolicyDocument" in created
    existing = Stack.of(
        transformed, ExistingVpcId="vpc-0abc", ExistingPrivateSubnetIds="subnet-1,subnet-2",
        ExistingRouteTableIds="rtb-1,rtb-2",
    ).resource("DynamoDbEndpoint")["Properties"]
    assert existing["RouteTableIds"] == {"Ref": "ExistingRouteTableIds"}
    assert "PolicyDocument" not in existing


def test_only_the_jwks_resource_runs_outside_the_vpc(transformed: dict[str, Any]) -> None:
    """The functions reach the cache inside the VPC; the JWKS custom resource fetches Cognito's JWKS
    and the VPC has no NAT, so it alone stays out."""
    stack = Stack.of(transformed)
    for name in VPC_FUNCTIONS:
        vpc = stack.resource(name)["Properties"].get("VpcConfig") or {}
        assert vpc.get("SubnetIds"), name
        assert vpc.get("SecurityGroupIds"), name
    assert "VpcConfig" not in stack.resource("UserPoolJwksFunction")["Properties"]


# ---------------------------------------------------------------------------------- SAM, limits
def test_every_property_change_publishes_a_new_version(source: dict[str, Any]) -> None:
    """SAM: AutoPublishAliasAllProperties "specifies when a new AWS::Lambda::Version is created.
    When true, a new Lambda version is created when any property in the Lambda function is
    modified", and it is a supported Globals property. Set once in Globals, a change of a
    function's environment (a new CACHE_SCHEMA_VERSION, say) must publish a version."""
    assert source["Globals"]["Function"]["AutoPublishAliasAllProperties"] is True

    def versions(template: dict[str, Any]) -> set[str]:
        return {lid for lid, res in transform(template)["Resources"].items() if res["Type"] == "AWS::Lambda::Version"}

    changed = copy.deepcopy(source)
    changed["Globals"]["Function"]["Environment"]["Variables"]["CACHE_ITEM_TTL_S"] = "301"
    before, after = versions(source), versions(changed)
    assert len(before) == len(after) == 12  # every function but the JWKS custom resource (no alias)
    assert not before & after, "an environment change left some functions on their old version"


def test_transformed_template_fits_cloudformation_quotas(transformed: dict[str, Any]) -> None:
    """CloudFormation quotas: at most 500 resources per template, and a template body of at most
    1 MB when passed through S3 (which ``sam deploy`` does)."""
    assert len(transformed["Resources"]) <= 500
    assert len(json.dumps(transformed).encode()) <= 1_000_000


def test_dashboard_body_is_structured_yaml(source: dict[str, Any]) -> None:
    """The dashboard is written as data and serialised by Fn::ToJsonString (AWS::LanguageExtensions),
    not maintained as one long JSON string."""
    assert source["Transform"][0] == "AWS::LanguageExtensions"
    body = source["Resources"]["Dashboard"]["Properties"]["DashboardBody"]
    widgets = body["Fn::ToJsonString"]["widgets"]
    assert all({"type", "x", "y", "width", "height", "properties"} <= set(widget) for widget in widgets)
