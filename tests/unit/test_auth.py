"""Callers come from the Cognito authorizer's claims or from a bearer token the function verifies.

The verification rules are Cognito's ("Verifying a JSON Web Token", Amazon Cognito Developer
Guide, https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html):
"Verify that the token is not expired", "The aud claim in an ID token ... should match the app
client ID that was created in the Amazon Cognito user pool", "The issuer (iss) claim should
match your user pool", "Check the token_use claim ... If you are only using the ID token, its
value must be id", and the signature with the public key whose ``kid`` matches the token's, from
the pool's JWKS. Tokens are made by the stand-in pool of ``local.auth`` (RS256, a fresh key pair).
"""

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from courses_api import tokens
from courses_api.domain.auth import ANONYMOUS, Caller
from courses_api.errors import Forbidden, Unauthorized
from courses_api.http.caller import caller_from_event, parse_groups
from courses_api.tokens import EXPIRED as TOKEN_EXPIRED
from courses_api.tokens import INVALID as TOKEN_INVALID
from local.auth import LocalAuth

POOL = LocalAuth.generate()
OTHER_POOL = LocalAuth.generate()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, set()),
        ("", set()),
        ("[]", set()),
        ("admins", {"admins"}),
        # The Cognito authorizer of a REST API: array elements between brackets, space-separated
        ("[admins instructors]", {"admins", "instructors"}),
        ("[operator]", {"operator"}),
        ("[ admins  instructors ]", {"admins", "instructors"}),
        # A verified token's claim: a list
        (["instructors"], {"instructors"}),
        # No Lambda authorizer sends JSON in a string any more: a quoted name is not a group
        ('["admins"]', {'"admins"'}),
        # A comma is part of a name (Cognito allows punctuation, not whitespace, in names)
        ("x,admins", {"x,admins"}),
        ("admins,instructors", {"admins,instructors"}),
        ("[x,admins]", {"x,admins"}),
        ("[x,admins instructors]", {"x,admins", "instructors"}),
        ("[[admins]]", {"[admins]"}),
        # Not names: whitespace, non-strings, other types
        ("admins instructors", set()),
        ([1, None, "admins"], {"admins"}),
        ({"admins": True}, set()),
        (42, set()),
    ],
)
def test_group_forms(raw: Any, expected: set[str]) -> None:
    assert parse_groups(raw) == expected


def test_a_group_named_like_a_list_of_admins_grants_nothing() -> None:
    for raw in ("x,admins", "[x,admins]", '["x,admins"]', "admins,", ",admins"):
        caller = caller_from_event({"requestContext": {"authorizer": {"claims": {"sub": "u", "cognito:groups": raw}}}})
        assert not caller.is_admin, raw


def event_with(authorizer: Any) -> dict[str, Any]:
    return {"requestContext": {"authorizer": authorizer}}


def test_cognito_claims() -> None:
    caller = caller_from_event(event_with({"claims": {"sub": "u1", "cognito:groups": "[instructors]"}}))
    assert caller == Caller("u1", frozenset({"instructors"}))
    assert caller.is_instructor
    assert not caller.is_admin


def test_only_cognito_claims_make_a_caller_behind_the_authorizer() -> None:
    # A flat context is what a Lambda authorizer would send; this API has none, so it grants nothing.
    assert caller_from_event(event_with({"sub": "u2", "cognito:groups": "admins"})) == ANONYMOUS
    assert caller_from_event(event_with({"principalId": "anonymous"})) == ANONYMOUS
    assert caller_from_event({}) == ANONYMOUS
    assert caller_from_event(event_with("not a mapping")) == ANONYMOUS
    assert caller_from_event(event_with({"claims": {"sub": ""}})) == ANONYMOUS


def test_roles_and_ownership() -> None:
    with pytest.raises(Unauthorized):
        ANONYMOUS.require_user()
    with pytest.raises(Forbidden):
        Caller("u1").require_any_group(["instructors", "admins"])
    assert Caller("u1", frozenset({"instructors"})).require_any_group(["instructors"]) == "u1"
    assert Caller("u1").may_manage("u1")
    assert not Caller("u1").may_manage("u2")
    assert Caller("root", frozenset({"admins"})).may_manage("u2")
    assert not ANONYMOUS.may_manage("u1")


# ---------------------------------------------------------------------------------- tokens
def base64url(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def token_event(token: str | None, authorizer: Any = None) -> dict[str, Any]:
    event: dict[str, Any] = {"headers": {"Accept": "application/json"}, "requestContext": {}}
    if token is not None:
        event["headers"]["Authorization"] = f"Bearer {token}"
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    return event


@pytest.fixture(autouse=True)
def pool_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in POOL.environment().items():
        monkeypatch.setenv(name, value)


def rejected(token: str) -> str:
    with pytest.raises(Unauthorized) as caught:
        caller_from_event(token_event(token), from_token=True)
    return caught.value.detail


def test_a_valid_id_token_makes_its_caller() -> None:
    caller = caller_from_event(token_event(POOL.mint("alice", ["instructors", "admins"])), from_token=True)
    assert caller == Caller("alice", frozenset({"instructors", "admins"}))


def test_no_token_is_an_anonymous_caller_and_the_authorizer_is_never_read() -> None:
    forged = {"claims": {"sub": "mallory", "cognito:groups": "[admins]"}}
    assert caller_from_event(token_event(None, forged), from_token=True) == ANONYMOUS
    assert caller_from_event(token_event(None, {"sub": "mallory", "cognito:groups": "admins"}),
                             from_token=True) == ANONYMOUS
    signed = caller_from_event(token_event(POOL.mint("bob"), forged), from_token=True)
    assert signed == Caller("bob")


@pytest.mark.parametrize(
    ("make", "detail"),
    [
        (lambda: OTHER_POOL.mint("alice", ["admins"]), TOKEN_INVALID),  # unknown kid
        (lambda: LocalAuth(OTHER_POOL.private_key, POOL.kid).mint("alice", ["admins"]), TOKEN_INVALID),  # signature
        (lambda: POOL.mint("alice", ttl_s=60, now=time.time() - 3600), TOKEN_EXPIRED),
        (lambda: POOL.mint("alice", aud="another-client"), TOKEN_INVALID),
        (lambda: POOL.mint("alice", iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other"), TOKEN_INVALID),
        (lambda: POOL.mint("alice", token_use="access"), TOKEN_INVALID),
        (lambda: POOL.mint("alice", exp=None), TOKEN_INVALID),
        (lambda: POOL.mint("alice", token_use=None), TOKEN_INVALID),
        (lambda: POOL.mint("", ["admins"]), TOKEN_INVALID),
        (lambda: "not.a.jwt", TOKEN_INVALID),
    ],
    ids=["unknown-kid", "bad-signature", "expired", "wrong-audience", "wrong-issuer", "access-token",
         "no-exp", "no-token-use", "empty-sub", "garbage"],
)
def test_a_present_but_bad_token_is_rejected(make: Any, detail: str) -> None:
    assert rejected(make()) == detail


def test_algorithm_confusion_is_rejected() -> None:
    """An unsigned token, or one signed with HS256 using the public key as the secret."""
    claims = {"sub": "alice", "iss": POOL.issuer, "aud": POOL.audience, "token_use": "id",
              "exp": int(time.time()) + 600}
    unsigned = jwt.encode(claims, key="", algorithm="none", headers={"kid": POOL.kid})
    assert rejected(unsigned) == TOKEN_INVALID
    # Made by hand: PyJWT itself refuses to sign HS256 with a public key.
    public_pem = POOL.private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    signing_input = b".".join(base64url(json.dumps(part).encode())
                              for part in ({"alg": "HS256", "typ": "JWT", "kid": POOL.kid}, claims))
    signature = base64url(hmac.new(public_pem, signing_input, hashlib.sha256).digest())
    assert rejected((signing_input + b"." + signature).decode()) == TOKEN_INVALID


def test_a_small_clock_skew_is_tolerated() -> None:
    assert caller_from_event(token_event(POOL.mint("alice", ttl_s=60, now=time.time() - 62)), from_token=True)
    assert rejected(POOL.mint("alice", ttl_s=60, now=time.time() - 60 - tokens.LEEWAY_S - 5)) == TOKEN_EXPIRED


def test_without_keys_every_token_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(tokens.JWKS_ENV)
    assert rejected(POOL.mint("alice")) == TOKEN_INVALID
    assert caller_from_event(token_event(None), from_token=True) == ANONYMOUS


@pytest.mark.parametrize(("header", "token"), [("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("abc", "abc"),
                                               ("", None), ("   ", None)])
def test_the_bearer_token_of_a_header(header: str, token: str | None) -> None:
    assert tokens.bearer_token({"authorization": header}) == token
    assert tokens.bearer_token(None) is None
