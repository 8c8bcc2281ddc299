"""The real services the tests run against: moto over HTTP, redis-server, local tokens.

They are the same ones ``make run`` uses (tables created from ``template.yaml``), so a test
and the local API cannot disagree about a schema.
"""

from __future__ import annotations

from local.auth import DEFAULT_LOCAL_AUTH_SECRET, mint_token
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
    "DEFAULT_LOCAL_AUTH_SECRET",
    "FAKE_CREDENTIALS",
    "LOCAL_REGION",
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
