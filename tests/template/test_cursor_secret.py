"""The cursor key reaches the functions that page from Secrets Manager, never through their configuration.

Lambda's guide (https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html, read
2026-12-03): "To increase security, we recommend that you use AWS Secrets Manager instead of
environment variables to store database credentials and other sensitive information like API
keys or authorization tokens." A ``{{resolve:secretsmanager:...}}`` reference in an environment
variable is resolved at deploy time, so the value sits in the function's configuration, which
anyone allowed ``lambda:GetFunctionConfiguration`` reads.
"""

from __future__ import annotations

import json
from typing import Any

from tests.template.stack import Stack

PAGING_FUNCTIONS = ("ListCoursesFunction", "ListInstructorCoursesFunction", "ListMyEnrollmentsFunction",
                    "ListCourseEnrollmentsFunction")


def _variables(function: dict[str, Any]) -> dict[str, Any]:
    variables: dict[str, Any] = function["Properties"].get("Environment", {}).get("Variables", {})
    return variables


def test_no_function_configuration_holds_the_secret(transformed: dict[str, Any]) -> None:
    for logical_id, function in Stack.of(transformed).resources("AWS::Lambda::Function"):
        variables = _variables(function)
        assert "CURSOR_SECRET" not in variables, logical_id
        assert "resolve:secretsmanager" not in json.dumps(variables), logical_id


def test_exactly_the_paging_functions_get_the_secret_id_and_may_read_it(transformed: dict[str, Any]) -> None:
    """The id (an ARN) in the environment; ``secretsmanager:GetSecretValue`` on that secret alone."""
    stack = Stack.of(transformed)
    with_id = {logical_id for logical_id, function in stack.resources("AWS::Lambda::Function")
               if _variables(function).get("CURSOR_SECRET_ID") == {"Ref": "CursorSecret"}}
    assert with_id == set(PAGING_FUNCTIONS)
    policy = stack.resource("CursorSecretReadPolicy")["Properties"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == ("secretsmanager:GetSecretValue", {"Ref": "CursorSecret"})
    assert {ref["Ref"] for ref in policy["Roles"]} == {f"{name}Role" for name in PAGING_FUNCTIONS}
    for logical_id, role in stack.resources("AWS::IAM::Role"):
        assert "secretsmanager" not in json.dumps(role["Properties"].get("Policies", [])), logical_id


def test_a_vpc_without_nat_reaches_secrets_manager_through_an_interface_endpoint(transformed: dict[str, Any]) -> None:
    """The created VPC has no NAT; PrivateLink's guide: an interface endpoint with private DNS
    makes the service's default endpoint name resolve to it
    (https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html, read 2026-12-03)."""
    stack = Stack.of(transformed)
    endpoint = stack.resource("SecretsManagerEndpoint")["Properties"]
    assert endpoint["VpcEndpointType"] == "Interface"
    assert endpoint["PrivateDnsEnabled"] is True
    assert endpoint["ServiceName"] == {"Fn::Sub": "com.amazonaws.${AWS::Region}.secretsmanager"}
    assert endpoint["SubnetIds"] == [{"Ref": "PrivateSubnetA"}, {"Ref": "PrivateSubnetB"}]
    (ingress,) = stack.resource("SecretsManagerEndpointSecurityGroup")["Properties"]["SecurityGroupIngress"]
    assert (ingress["FromPort"], ingress["ToPort"]) == (443, 443)
    assert ingress["SourceSecurityGroupId"] == {"Ref": "FunctionsSecurityGroup"}
    (allowed,) = endpoint["PolicyDocument"]["Statement"]
    assert (allowed["Action"], allowed["Resource"]) == ("secretsmanager:GetSecretValue", {"Ref": "CursorSecret"})
    # an existing VPC brings its own route to Secrets Manager
    existing = Stack.of(transformed, ExistingVpcId="vpc-0123", ExistingPrivateSubnetIds=["subnet-a", "subnet-b"])
    assert "SecretsManagerEndpoint" not in dict(existing.resources("AWS::EC2::VPCEndpoint"))
