"""The optional REQUEST authorizer: anonymous passes, good tokens carry claims, bad ones 401.

The JWKS client is the real ``PyJWKClient``; its key-set cache is primed with the test
key, as a warm container's would be after its first fetch, and the network is off (unit
tests), so any attempt to refetch would fail the test.
"""

from __future__ import annotations

import json
import time
from types import ModuleType
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.functions import context_for, load_function

REGION = "eu-west-1"
POOL_ID = "eu-west-1_TestPool"
CLIENT_ID = "test-client-id"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"
KID = "test-kid"
METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123/dev/GET/courses/c-1"

_SIGNING_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwks() -> dict[str, Any]:
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(_SIGNING_KEY.public_key()))
    jwk.update({"kid": KID, "alg": "RS256", "use": "sig"})
    return {"keys": [jwk]}


def _token(key: Any = _SIGNING_KEY, **overrides: Any) -> str:
    claims: dict[str, Any] = {
        "sub": "user-1",
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "token_use": "id",
        "exp": int(time.time()) + 600,
        "cognito:groups": ["instructors", "admins"],
    }
    claims.update(overrides)
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KID})


def _event(authorization: str | None) -> dict[str, Any]:
    headers = {"Accept": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return {"type": "REQUEST", "methodArn": METHOD_ARN, "headers": headers}


@pytest.fixture
def authorizer(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A fresh container of the authorizer with a warm JWKS cache."""
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("USER_POOL_ID", POOL_ID)
    monkeypatch.setenv("USER_POOL_CLIENT_ID", CLIENT_ID)
    module = load_function("optional_authorizer")
    client = module._jwks_client(ISSUER)
    assert client.jwk_set_cache is not None
    client.jwk_set_cache.put(_jwks())
    return module


def test_anonymous_caller_is_allowed_without_claims(authorizer: ModuleType) -> None:
    result = authorizer.lambda_handler(_event(None), context_for(authorizer))

    assert result["principalId"] == "anonymous"
    assert result["context"] == {}
    statement = result["policyDocument"]["Statement"][0]
    assert statement == {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": METHOD_ARN}


@pytest.mark.parametrize("prefix", ["Bearer ", "bearer ", ""])
def test_valid_id_token_passes_sub_and_groups(authorizer: ModuleType, prefix: str) -> None:
    result = authorizer.lambda_handler(_event(prefix + _token()), context_for(authorizer))

    assert result["principalId"] == "user-1"
    assert result["context"] == {"sub": "user-1", "cognito:groups": '["instructors","admins"]'}
    assert result["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_access_token_of_the_app_client_is_refused_like_the_cognito_authorizer_does(authorizer: ModuleType) -> None:
    """API Gateway's Cognito user-pool authorizer without OAuth scopes accepts ID tokens only
    (the template configures none), so the optional authorizer must refuse access tokens too:
    the same token gets the same answer on every route."""
    token = _token(token_use="access", aud=None, client_id=CLIENT_ID)

    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.lambda_handler(_event(f"Bearer {token}"), context_for(authorizer))


def test_id_token_without_groups_passes_with_empty_groups(authorizer: ModuleType) -> None:
    token = _token(**{"cognito:groups": None})

    result = authorizer.lambda_handler(_event(f"Bearer {token}"), context_for(authorizer))

    assert result["context"] == {"sub": "user-1", "cognito:groups": "[]"}


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(lambda: _token(exp=int(time.time()) - 3600), id="expired"),
        pytest.param(lambda: _token(aud="another-client"), id="foreign-audience"),
        pytest.param(lambda: _token(iss="https://cognito-idp.eu-west-1.amazonaws.com/other"), id="foreign-issuer"),
        pytest.param(lambda: _token(key=_OTHER_KEY), id="bad-signature"),
        pytest.param(lambda: _token(token_use=None), id="no-token-use"),
        pytest.param(lambda: _token(token_use="access"), id="access-token-with-aud"),
        pytest.param(lambda: _token(aud=None), id="no-audience"),
        pytest.param(lambda: "not-a-jwt", id="garbage"),
    ],
)
def test_bad_token_is_unauthorized(authorizer: ModuleType, token: Any) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.lambda_handler(_event(f"Bearer {token()}"), context_for(authorizer))


def test_hs256_token_is_refused(authorizer: ModuleType) -> None:
    """The local server's HS256 tokens must never pass in AWS."""
    token = jwt.encode(
        {"sub": "x", "iss": ISSUER, "aud": CLIENT_ID, "token_use": "id", "exp": int(time.time()) + 60},
        "a-local-development-secret-of-32-bytes",
        algorithm="HS256",
        headers={"kid": KID},
    )

    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorizer.lambda_handler(_event(f"Bearer {token}"), context_for(authorizer))


def test_blank_authorization_header_is_anonymous(authorizer: ModuleType) -> None:
    assert authorizer.lambda_handler(_event("   "), context_for(authorizer))["principalId"] == "anonymous"
