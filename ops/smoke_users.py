"""Sign in the smoke test's users of a deployed dev stage and hand ``make smoke`` its arguments.

    python -m ops.smoke_users --stack courses-api-dev --github-env "$GITHUB_ENV"

Reads the stack's outputs (``ApiUrl``, ``UserPoolId``, ``UserPoolClientId``) and its
``AllowedOrigins`` parameter; makes sure three users exist in the pool (no group, the
``instructors`` group, the ``admins`` group: the last one only to read ``/health``'s details
when a check fails), gives each a new random password, and signs each in with
``USER_PASSWORD_AUTH`` (the dev app client allows it; prod's does not, so the pipeline runs
the smoke test on dev only). Writes ``URL``, ``TOKEN``, ``INSTRUCTOR_TOKEN``, ``ADMIN_TOKEN``
and ``ORIGINS`` to the GitHub Actions environment file, and masks the tokens in the log.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import sys
from collections.abc import Sequence
from typing import Any

SMOKE_DOMAIN = "smoke-test.invalid"  # never a deliverable address: no mail is sent
USERS = {"TOKEN": ("student", ()), "INSTRUCTOR_TOKEN": ("instructor", ("instructors",)),
         "ADMIN_TOKEN": ("admin", ("admins",))}


def stack_facts(cloudformation: Any, stack: str) -> dict[str, str]:
    """The outputs and parameters of ``stack`` the smoke test needs."""
    (description,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    facts = {output["OutputKey"]: output["OutputValue"] for output in description.get("Outputs", [])}
    facts.update({p["ParameterKey"]: p.get("ParameterValue", "") for p in description.get("Parameters", [])})
    missing = {"ApiUrl", "UserPoolId", "UserPoolClientId"} - facts.keys()
    if missing:
        raise SystemExit(f"stack {stack} has no output {', '.join(sorted(missing))}")
    return facts


def _password() -> str:
    """Random, and meets the pool's policy (12+ characters, upper, lower, digit, symbol)."""
    return secrets.token_urlsafe(24) + "Aa1!"


def signed_in_token(cognito: Any, pool_id: str, client_id: str, role: str, groups: Sequence[str]) -> str:
    """The ID token of the smoke user ``role`` (created on first use, its password renewed)."""
    username = f"smoke-{role}@{SMOKE_DOMAIN}"
    password = _password()
    with contextlib.suppress(cognito.exceptions.UsernameExistsException):  # made by an earlier run
        cognito.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS",
                                  UserAttributes=[{"Name": "email", "Value": username},
                                                  {"Name": "email_verified", "Value": "true"}])
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    for group in groups:
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)
    result = cognito.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                   AuthParameters={"USERNAME": username, "PASSWORD": password})
    return str(result["AuthenticationResult"]["IdToken"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="the dev stack's name (samconfig.toml [default])")
    parser.add_argument("--github-env", required=True, help="the file GitHub Actions names in $GITHUB_ENV")
    args = parser.parse_args(argv)

    import boto3  # the operator's or the workflow's credentials and region

    facts = stack_facts(boto3.client("cloudformation"), args.stack)
    cognito = boto3.client("cognito-idp")
    values = {"URL": facts["ApiUrl"], "ORIGINS": facts.get("AllowedOrigins", "")}
    for variable, (role, groups) in USERS.items():
        token = signed_in_token(cognito, facts["UserPoolId"], facts["UserPoolClientId"], role, groups)
        print(f"::add-mask::{token}")  # GitHub Actions hides it in every later log line
        values[variable] = token
    with open(args.github_env, "a", encoding="utf-8") as environment:
        environment.writelines(f"{name}={value}\n" for name, value in values.items())
    print(f"smoke users signed in on {facts['ApiUrl']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
