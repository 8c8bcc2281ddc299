"""The real services the tests run against: moto over HTTP, redis-server, local tokens.

``TEST_AUTH`` is the session's stand-in user pool (an RS256 key pair, issuer, app client):
the functions that verify tokens themselves get its JWKS (``tests/conftest.py``), and
:func:`mint_token` signs ID tokens with it.

They are the same ones ``make run`` uses (tables created from ``template.yaml``), so a test
and the local API cannot disagree about a schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from local.auth import LocalAuth
from local.aws import (
    FAKE_CREDENTIALS,
    MotoEndpoint,
    create_tables,
    delete_tables,
    dynamodb_client,
    free_port,
    serialize_requests,
    start_moto,
    use_fake_aws_credentials,
)
from local.redis_server import LocalRedis, ensure_redis, start_redis_server
from local.template import LOCAL_REGION

__all__ = [
    "FAKE_CREDENTIALS",
    "LOCAL_REGION",
    "TEST_AUTH",
    "LocalAuth",
    "LocalRedis",
    "MotoEndpoint",
    "create_tables",
    "delete_tables",
    "dynamodb_client",
    "ensure_redis",
    "free_port",
    "mint_token",
    "serialize_requests",
    "start_moto",
    "start_redis_server",
    "use_fake_aws_credentials",
]

TEST_AUTH = LocalAuth.generate()


def mint_token(sub: str, groups: Sequence[str] = (), *, auth: LocalAuth = TEST_AUTH, **options: Any) -> str:
    """An RS256 ID token of ``auth`` (the session's pool unless given), as Cognito would issue it."""
    return auth.mint(sub, groups, **options)
