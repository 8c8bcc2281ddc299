"""The ElastiCache IAM auth token has the shape the ElastiCache documentation gives.

Source: "Authenticating with IAM", https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth-iam.html
(read 2026-12-03). Its example signs ``GET <cache name>/?Action=connect&User=<user id>``
(plus ``ResourceType=ServerlessCache`` for a serverless cache) with SigV4 for the
``elasticache`` service, as a presigned URL without its protocol, valid 900 seconds; the
limitations list a token's life as 15 minutes and require the user id to equal the user
name. Nothing here reaches AWS: botocore signs locally with throw-away credentials.
"""

from __future__ import annotations

import urllib.parse

from botocore.credentials import Credentials

from courses_api.cache.client import ElastiCacheIAMProvider, IAMTarget

DOCUMENTED_MAX_EXPIRY_S = 900  # "The IAM authentication token is valid for 15 minutes"


class StepClock:
    def __init__(self) -> None:
        self.now = 1_767_225_600.0

    def __call__(self) -> float:
        return self.now


def _parts(token: str) -> tuple[str, str, dict[str, list[str]]]:
    assert "://" not in token, "the token is the presigned URL without its protocol"
    host, _, rest = token.partition("/")
    path, _, query = ("/" + rest).partition("?")
    return host, path, urllib.parse.parse_qs(query, keep_blank_values=True)


def test_serverless_token_is_a_presigned_connect_request_for_the_cache_and_user() -> None:
    provider = ElastiCacheIAMProvider(
        IAMTarget("courses-app", "courses-cache", "eu-west-1", serverless=True),
        credentials=Credentials("AKIDEXAMPLE", "secret"),
        clock=StepClock(),
    )
    user, token = provider.get_credentials()  # type: ignore[misc]
    host, path, query = _parts(token)
    assert user == "courses-app", "AUTH user is the ElastiCache user id"
    assert (host, path) == ("courses-cache", "/"), "signed for the cache name, not the endpoint"
    assert query["Action"] == ["connect"]
    assert query["User"] == ["courses-app"]
    assert query["ResourceType"] == ["ServerlessCache"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-SignedHeaders"] == ["host"]
    assert 0 < int(query["X-Amz-Expires"][0]) <= DOCUMENTED_MAX_EXPIRY_S
    access_key, date, region, service, terminator = query["X-Amz-Credential"][0].split("/")
    assert (access_key, region, service, terminator) == ("AKIDEXAMPLE", "eu-west-1", "elasticache", "aws4_request")
    assert len(date) == 8
    assert date.isdigit()
    assert len(query["X-Amz-Signature"][0]) == 64


def test_node_based_cache_token_has_no_resource_type() -> None:
    provider = ElastiCacheIAMProvider(
        IAMTarget("courses-app", "courses-group", "us-east-1"), credentials=Credentials("AKIDEXAMPLE", "secret")
    )
    _, _, query = _parts(provider.get_credentials()[1])  # type: ignore[misc]
    assert "ResourceType" not in query


def test_token_is_signed_again_before_it_expires() -> None:
    clock = StepClock()
    provider = ElastiCacheIAMProvider(
        IAMTarget("courses-app", "courses-cache", "eu-west-1", serverless=True),
        credentials=Credentials("AKIDEXAMPLE", "secret"),
        clock=clock,
    )
    first = provider.get_credentials()[1]  # type: ignore[misc]
    lifetime = int(_parts(first)[2]["X-Amz-Expires"][0])
    assert provider.refresh_s < lifetime, "a new connection never presents a token about to expire"
    clock.now += provider.refresh_s - 1
    assert provider.get_credentials()[1] == first  # type: ignore[misc]
    clock.now += 2
    provider._credentials = Credentials("AKIDROTATED", "secret2")
    second = provider.get_credentials()[1]  # type: ignore[misc]
    assert second != first
    assert _parts(second)[2]["X-Amz-Credential"][0].startswith("AKIDROTATED/")
