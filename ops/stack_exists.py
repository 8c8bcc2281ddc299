"""Exit 0 when a CloudFormation stack exists (in a state other than deleted), 1 when it does not.

``make deploy`` uses it to run ``sam deploy --guided`` on first use. Any other error (no
credentials, no permission) exits 2 with the reason, so a deploy never starts blind.
"""

from __future__ import annotations

import sys

import boto3
from botocore.exceptions import BotoCoreError, ClientError


def exists(stack_name: str) -> bool:
    try:
        stacks = boto3.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ValidationError" and "does not exist" in str(error):
            return False
        raise
    return any(stack["StackStatus"] != "DELETE_COMPLETE" for stack in stacks)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m ops.stack_exists STACK_NAME", file=sys.stderr)
        return 2
    try:
        return 0 if exists(argv[0]) else 1
    except (BotoCoreError, ClientError) as error:
        print(f"cannot tell whether {argv[0]} exists: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
