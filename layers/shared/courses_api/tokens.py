"""Bearer-token verification in the function, on the routes without an authorizer (a REST API
would invoke a Lambda authorizer on every request): Cognito's rules ("Verifying JSON web tokens"),
RS256 by the pool's key of that ``kid``, ``iss`` the pool, ``aud`` the app client, ``token_use``
``id``, not expired. The JWKS comes with the deploy (``TOKEN_JWKS``: no NAT, no fetch at run time);
PyJWT and cryptography load on the first token only. Knows nothing of HTTP.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

JWKS_ENV, ISSUER_ENV, AUDIENCE_ENV = "TOKEN_JWKS", "TOKEN_ISSUER", "TOKEN_AUDIENCE"
LEEWAY_S = 5
ID_TOKEN_USE = "id"  # noqa: S105 - a claim value, not a secret
REQUIRED = ["exp", "iss", "sub", "aud", "token_use"]
INVALID, EXPIRED = "A valid bearer token (a Cognito ID token) is required.", "The token has expired."


class TokenRejected(Exception):
    """A present but bad token; its message is the 401's detail, worded as the gateway's own 401s."""


def bearer_token(headers: Mapping[str, Any] | None) -> str | None:
    """The token of the ``Authorization`` header (``Bearer x``, or bare as Cognito takes it)."""
    value = next((v for k, v in (headers or {}).items() if k.lower() == "authorization" and isinstance(v, str)), "")
    scheme, _, rest = value.strip().partition(" ")
    return (rest.strip() if scheme.lower() == "bearer" and rest.strip() else value.strip()) or None


@lru_cache(maxsize=4)
def _keys(jwks: str) -> dict[str, Any]:
    import jwt  # lazy: only requests with a token pay for it

    return {key.key_id: key.key for key in jwt.PyJWKSet.from_json(jwks).keys if key.key_id}


def verify(token: str, jwks: str, issuer: str, audience: str) -> dict[str, Any]:
    """The claims of the pool's ID token for the app client; an unknown ``kid`` is rejected (no fetch)."""
    import jwt  # lazy, as above

    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = _keys(jwks).get(kid) if isinstance(kid, str) else None
        if key is None:
            raise TokenRejected(INVALID)
        claims: dict[str, Any] = jwt.decode(token, key, algorithms=["RS256"], issuer=issuer, audience=audience,
                                            leeway=LEEWAY_S, options={"require": REQUIRED})
    except jwt.ExpiredSignatureError as exc:
        raise TokenRejected(EXPIRED) from exc
    except jwt.PyJWTError as exc:
        raise TokenRejected(INVALID) from exc
    if claims["token_use"] != ID_TOKEN_USE or not isinstance(claims["sub"], str) or not claims["sub"]:
        raise TokenRejected(INVALID)
    return claims


def claims_of(headers: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The verified claims of the request's token; ``None`` without one (an anonymous caller)."""
    token, env = bearer_token(headers), os.environ
    return None if token is None else verify(token, env.get(JWKS_ENV) or '{"keys":[]}', env.get(ISSUER_ENV, ""),
                                             env.get(AUDIENCE_ENV, ""))
