"""``ops.smoke_users`` against moto's Cognito and CloudFormation over HTTP (no account here)."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import jwt
import pytest

from ops.smoke_users import main
from tests.support.services import LOCAL_REGION, MotoEndpoint

STACK = "courses-api-smoke-users"


def test_tokens_for_each_role_land_in_the_github_environment_file(
    moto_endpoint: MotoEndpoint, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a user pool with the template's groups, and a stack whose outputs name it
    clients = {service: boto3.client(service, endpoint_url=moto_endpoint.url, region_name=LOCAL_REGION)
               for service in ("cognito-idp", "cloudformation")}
    cognito = clients["cognito-idp"]
    pool = cognito.create_user_pool(PoolName="smoke", UsernameAttributes=["email"])["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool, ClientName="app", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    )["UserPoolClient"]["ClientId"]
    for group in ("instructors", "admins"):
        cognito.create_group(UserPoolId=pool, GroupName=group)
    template = {
        "Parameters": {"AllowedOrigins": {"Type": "String"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"ApiUrl": {"Value": "https://api.example/dev"}, "UserPoolId": {"Value": pool},
                    "UserPoolClientId": {"Value": client_id}},
    }
    clients["cloudformation"].create_stack(StackName=STACK, TemplateBody=json.dumps(template),
                                           Parameters=[{"ParameterKey": "AllowedOrigins",
                                                        "ParameterValue": "https://a.example"}])
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint.url)  # boto3 in the script talks to moto
    monkeypatch.setenv("AWS_DEFAULT_REGION", LOCAL_REGION)
    env_file = tmp_path / "github_env"

    # When the pipeline's step runs (twice: the users exist the second time)
    assert main(["--stack", STACK, "--github-env", str(env_file)]) == 0
    assert main(["--stack", STACK, "--github-env", str(env_file)]) == 0

    # Then the last values are the smoke test's arguments, one ID token per role
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert (values["URL"], values["ORIGINS"]) == ("https://api.example/dev", "https://a.example")
    groups = {name: jwt.decode(values[name], options={"verify_signature": False}).get("cognito:groups", [])
              for name in ("TOKEN", "INSTRUCTOR_TOKEN", "ADMIN_TOKEN")}
    assert groups == {"TOKEN": [], "INSTRUCTOR_TOKEN": ["instructors"], "ADMIN_TOKEN": ["admins"]}
