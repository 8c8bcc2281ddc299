"""Local tokens: RS256 ID tokens of a key pair made per run, verified by the layer's own code.

The stand-in pool signs what Cognito would sign (``kid`` in the header, ``iss`` the pool,
``aud`` the app client, ``token_use`` ``id``), and the Cognito-authorizer stand-in hands the
claims over where API Gateway puts them (``requestContext.authorizer.claims``, every value a
string, groups as ``[a b]``).
"""

from __future__ import annotations

import json
import re
import stat
import time
from pathlib import Path

import pytest

from courses_api.http.caller import caller_from_event
from local.auth import AuthError, AuthorizerSpec, LocalAuth, authorize, bearer_token, key_file

AUTH = LocalAuth.generate()
COGNITO = AuthorizerSpec(name="CognitoAuthorizer", kind="cognito")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_minted_tokens_are_rs256_id_tokens_of_the_pool() -> None:
    claims = AUTH.verify(AUTH.mint("alice", ["instructors", "admins"]))
    assert claims["sub"] == "alice"
    assert claims["cognito:groups"] == ["instructors", "admins"]
    assert (claims["iss"], claims["aud"], claims["token_use"]) == (AUTH.issuer, AUTH.audience, "id")
    jwks = json.loads(AUTH.jwks)
    assert [(key["kty"], key["alg"], key["kid"]) for key in jwks["keys"]] == [("RSA", "RS256", AUTH.kid)]
    assert "d" not in jwks["keys"][0], "the JWKS holds the public half only"


def test_expired_tokens_are_rejected() -> None:
    with pytest.raises(AuthError, match="expired"):
        AUTH.verify(AUTH.mint("alice", ttl_s=10, now=time.time() - 3600))


def test_tokens_of_another_run_are_rejected() -> None:
    with pytest.raises(AuthError):
        AUTH.verify(LocalAuth.generate().mint("alice"))


def test_the_key_file_round_trips_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "auth-key.pem"
    AUTH.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = LocalAuth.load(path)
    assert loaded.kid == AUTH.kid
    assert AUTH.verify(loaded.mint("bob"))["sub"] == "bob"
    assert key_file({"LOCAL_AUTH_KEY_FILE": str(path)}) == path
    assert key_file({}).name == "auth-key.pem"


def test_the_functions_get_the_pools_jwks_issuer_and_client() -> None:
    assert AUTH.environment() == {"TOKEN_JWKS": AUTH.jwks, "TOKEN_ISSUER": AUTH.issuer, "TOKEN_AUDIENCE": AUTH.audience}


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Bearer a b"])
def test_malformed_authorization_headers_are_rejected(header: str) -> None:
    with pytest.raises(AuthError):
        bearer_token({"authorization": header})


def test_bearer_token_accepts_a_bare_token_like_cognito() -> None:
    assert bearer_token({"Authorization": "abc.def.ghi"}) == "abc.def.ghi"
    assert bearer_token({}) is None


def test_cognito_routes_need_a_valid_token() -> None:
    with pytest.raises(AuthError):
        authorize(COGNITO, {}, AUTH)
    with pytest.raises(AuthError):
        authorize(COGNITO, _bearer("not-a-jwt"), AUTH)
    with pytest.raises(AuthError):
        authorize(COGNITO, _bearer(AUTH.mint("alice", token_use="access")), AUTH)


def test_cognito_claims_are_strings_with_space_separated_groups() -> None:
    context = authorize(COGNITO, _bearer(AUTH.mint("alice", ["instructors", "admins"])), AUTH)
    assert context is not None
    claims = context["claims"]
    assert claims["sub"] == "alice"
    assert claims["cognito:groups"] == "[instructors admins]"
    assert all(isinstance(value, str) for value in claims.values())
    assert re.fullmatch(r"[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d UTC \d{4}", claims["exp"])


def test_routes_without_an_authorizer_get_no_authorizer_context() -> None:
    assert authorize(None, _bearer("garbage"), AUTH) is None


def test_the_layer_reads_the_same_caller_from_the_authorizer_and_from_the_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a token for an instructor and admin
    token = AUTH.mint("carol", ["instructors", "admins"])
    # When the local gateway authorizes it as the Cognito authorizer would, or the function verifies it
    context = authorize(COGNITO, _bearer(token), AUTH)
    for name, value in AUTH.environment().items():
        monkeypatch.setenv(name, value)
    from_claims = caller_from_event({"requestContext": {"authorizer": context}})
    from_token = caller_from_event({"headers": _bearer(token), "requestContext": {}}, from_token=True)
    # Then the layer sees exactly that caller either way
    assert from_claims == from_token
    assert from_claims.user_id == "carol"
    assert from_claims.groups == frozenset({"instructors", "admins"})
