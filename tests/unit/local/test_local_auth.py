"""Local tokens: verified like Cognito's, delivered where API Gateway's authorizers put claims."""

from __future__ import annotations

import re
import time

import jwt
import pytest

from courses_api.http.caller import caller_from_event
from local.auth import (
    DEFAULT_LOCAL_AUTH_SECRET,
    AuthError,
    AuthorizerSpec,
    InsecureSecretError,
    authorize,
    bearer_token,
    check_secret,
    mint_token,
    verify_token,
)

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
COGNITO = AuthorizerSpec(name="CognitoAuthorizer", kind="cognito")
OPTIONAL = AuthorizerSpec(name="OptionalAuthorizer", kind="lambda")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_minted_tokens_verify_with_their_claims() -> None:
    claims = verify_token(SECRET, mint_token(SECRET, "alice", ["instructors", "admins"]))
    assert claims["sub"] == "alice"
    assert claims["cognito:groups"] == ["instructors", "admins"]


def test_expired_tokens_are_rejected() -> None:
    token = mint_token(SECRET, "alice", [], ttl_s=10, now=time.time() - 3600)
    with pytest.raises(AuthError, match="expired"):
        verify_token(SECRET, token)


def test_tokens_signed_with_another_secret_are_rejected() -> None:
    token = mint_token("another-secret-that-is-long-enough-too!", "alice", [])
    with pytest.raises(AuthError):
        verify_token(SECRET, token)


def test_unsigned_tokens_are_rejected() -> None:
    token = jwt.encode({"sub": "mallory", "exp": int(time.time()) + 60}, key="", algorithm="none")
    with pytest.raises(AuthError):
        verify_token(SECRET, token)


def test_tokens_without_expiry_are_rejected() -> None:
    token = jwt.encode({"sub": "alice"}, SECRET, algorithm="HS256")
    with pytest.raises(AuthError):
        verify_token(SECRET, token)


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer a b"])
def test_malformed_authorization_headers_are_rejected(header: str) -> None:
    with pytest.raises(AuthError):
        bearer_token({"authorization": header})


def test_bearer_token_accepts_a_bare_token_like_cognito() -> None:
    assert bearer_token({"Authorization": "abc.def.ghi"}) == "abc.def.ghi"
    assert bearer_token({}) is None


def test_cognito_routes_need_a_token() -> None:
    with pytest.raises(AuthError):
        authorize(COGNITO, {}, SECRET)


def test_cognito_claims_are_strings_with_comma_joined_groups() -> None:
    context = authorize(COGNITO, _bearer(mint_token(SECRET, "alice", ["instructors", "admins"])), SECRET)
    assert context is not None
    claims = context["claims"]
    assert claims["sub"] == "alice"
    assert claims["cognito:groups"] == "[instructors admins]"
    assert all(isinstance(value, str) for value in claims.values())
    assert re.fullmatch(r"[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d UTC \d{4}", claims["exp"])


def test_optional_authorizer_lets_anonymous_callers_through() -> None:
    context = authorize(OPTIONAL, {}, SECRET)
    assert context is not None
    assert "sub" not in context
    assert context["principalId"] == "anonymous"


def test_optional_authorizer_still_rejects_bad_tokens() -> None:
    with pytest.raises(AuthError):
        authorize(OPTIONAL, _bearer("not-a-jwt"), SECRET)


def test_optional_authorizer_context_is_flat() -> None:
    context = authorize(OPTIONAL, _bearer(mint_token(SECRET, "bob", ["admins"])), SECRET)
    assert context == {"principalId": "bob", "sub": "bob", "cognito:groups": '["admins"]', "integrationLatency": 0}


def test_open_routes_get_no_authorizer_context() -> None:
    assert authorize(None, _bearer("garbage"), SECRET) is None


@pytest.mark.parametrize("spec", [COGNITO, OPTIONAL])
def test_the_layer_reads_the_same_caller_from_either_authorizer(spec: AuthorizerSpec) -> None:
    # Given a token for an instructor and admin
    token = mint_token(SECRET, "carol", ["instructors", "admins"])
    # When the local gateway authorizes it as the route's authorizer would
    context = authorize(spec, _bearer(token), SECRET)
    # Then the layer's auth module sees exactly that caller
    caller = caller_from_event({"requestContext": {"authorizer": context}})
    assert caller.user_id == "carol"
    assert caller.groups == frozenset({"instructors", "admins"})


def test_the_default_secret_is_refused_off_loopback() -> None:
    check_secret(DEFAULT_LOCAL_AUTH_SECRET, "127.0.0.1")
    check_secret(DEFAULT_LOCAL_AUTH_SECRET, "localhost")
    with pytest.raises(InsecureSecretError):
        check_secret(DEFAULT_LOCAL_AUTH_SECRET, "0.0.0.0")
    with pytest.raises(InsecureSecretError):
        check_secret("short", "192.0.2.1")
    check_secret(SECRET, "0.0.0.0")
