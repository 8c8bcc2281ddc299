"""Verifying a Cognito ID token in the function, on the routes anonymous callers may use too.

A REST API cannot skip a Lambda authorizer for tokenless requests, so those routes have none
and their function checks a bearer token itself, with the rules Cognito documents ("Verifying
JSON web tokens"): an RS256 signature by a key of the pool's JWKS (``kid``), ``iss`` the pool,
``aud`` the app client, ``token_use`` ``id``, not expired. The JWKS comes from the deploy
(``TOKEN_JWKS``): the functions run in a VPC without NAT and cannot fetch it. PyJWT and
cryptography are imported on the first token, so an anonymous cold start does not load them.
Knows nothing of HTTP: :mod:`courses_api.http.caller` answers a rejection with 401.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

JWKS_ENV, ISSUER_ENV, AUDIENCE_ENV = "TOKEN_JWKS", "TOKEN_ISSUER", "TOKEN_AUDIENCE"
LEEWAY_S = 5
ID_TOKEN_USE = "id"  # noqa: S105 - a claim value, not a secret
REQUIRED_CLAIMS = ["exp", "iss", "sub", "aud", "token_use"]


class TokenRejected(Exception):
    """A present token that is not a valid ID token of the pool; ``expired`` tells why."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("token expired" if expired else "token rejected")
        self.expired = expired


def bearer_token(headers: Mapping[str, Any] | None) -> str | None:
    """The token of the ``Authorization`` header (``Bearer x``, or a bare token as Cognito takes it)."""
    for name, value in (headers or {}).items():
        if name.lower() == "authorization" and isinstance(value, str) and value.strip():
            scheme, _, rest = value.strip().partition(" ")
            return rest.strip() if scheme.lower() == "bearer" and rest.strip() else value.strip()
    return None


@lru_cache(maxsize=4)
def _keys(jwks: str) -> dict[str, Any]:
    """``kid`` → public key of the JWKS, parsed once per container."""
    import jwt  # lazy: only requests with a token pay for it

    return {key.key_id: key.key for key in jwt.PyJWKSet.from_json(jwks).keys if key.key_id}


def verify(token: str, jwks: str, issuer: str, audience: str) -> dict[str, Any]:
    """The claims of an ID token the pool signed for the app client; else :class:`TokenRejected`.

    A ``kid`` not in the JWKS is rejected (the keys are refreshed by a deploy, not at run time).
    """
    import jwt  # lazy, as above

    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = _keys(jwks).get(kid) if isinstance(kid, str) else None
        if key is None:
            raise TokenRejected
        claims: dict[str, Any] = jwt.decode(token, key, algorithms=["RS256"], issuer=issuer, audience=audience,
                                            leeway=LEEWAY_S, options={"require": REQUIRED_CLAIMS})
    except jwt.ExpiredSignatureError as exc:
        raise TokenRejected(expired=True) from exc
    except jwt.PyJWTError as exc:
        raise TokenRejected from exc
    if claims.get("token_use") != ID_TOKEN_USE or not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise TokenRejected
    return claims


def claims_of(headers: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The verified claims of the request's token, ``None`` without one (an anonymous caller)."""
    token = bearer_token(headers)
    if token is None:
        return None
    env = os.environ
    return verify(token, env.get(JWKS_ENV) or '{"keys":[]}', env.get(ISSUER_ENV, ""), env.get(AUDIENCE_ENV, ""))
