"""Local stand-in for the API's authorizers: HS256 JWTs instead of Cognito.

In AWS the REST API verifies a Cognito id token and hands the handler its claims at
``requestContext.authorizer.claims`` (every value a string, ``cognito:groups`` as
``[a b]``), and the optional Lambda REQUEST authorizer returns a flat context instead.
Here the same claims come from an HS256 JWT signed with ``LOCAL_AUTH_SECRET``, so the
handlers receive exactly what they would behind API Gateway and cannot tell the difference.
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

DEFAULT_LOCAL_AUTH_SECRET = "local-dev-secret-change-me-not-for-production"  # noqa: S105 - documented development default
ALGORITHM = "HS256"
ADMINS = "admins"
ISSUER = "courses-api-local"
DEFAULT_TTL_S = 12 * 3600
_MIN_SECRET_BYTES = 32  # RFC 7518: an HS256 key as long as the hash


class AuthError(Exception):
    """A token that API Gateway would reject with 401 (missing, malformed, bad signature, expired)."""


class InsecureSecretError(RuntimeError):
    """The development secret on a non-loopback interface: anyone could mint tokens."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_secret(secret: str, host: str) -> None:
    """Refuse weak or default secrets unless the server is bound to loopback only."""
    if is_loopback(host):
        return
    if secret == DEFAULT_LOCAL_AUTH_SECRET:
        raise InsecureSecretError(
            f"LOCAL_AUTH_SECRET is the development default; refusing to listen on {host}. "
            "Set LOCAL_AUTH_SECRET to a long random value or bind to 127.0.0.1."
        )
    if len(secret.encode()) < _MIN_SECRET_BYTES:
        raise InsecureSecretError(f"LOCAL_AUTH_SECRET must be at least {_MIN_SECRET_BYTES} bytes off loopback")


def mint_token(
    secret: str,
    sub: str,
    groups: Sequence[str] = (),
    *,
    ttl_s: int = DEFAULT_TTL_S,
    now: float | None = None,
) -> str:
    """A signed id-token look-alike with the claims Cognito would put in one."""
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "sub": sub,
        "cognito:groups": [group for group in groups if group],
        "cognito:username": sub,
        "token_use": "id",
        "iss": ISSUER,
        "aud": ISSUER,
        "iat": issued,
        "auth_time": issued,
        "exp": issued + ttl_s,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str) -> dict[str, Any]:
    """The token's claims once signature, expiry and ``sub`` check out; else :class:`AuthError`."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub"], "verify_aud": False},
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthError("token expired") from exc
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"invalid token: {exc}") from exc
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise AuthError("token has no subject")
    return claims


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of an ``Authorization`` header (``Bearer x`` or bare ``x`` as Cognito accepts).

    Returns ``None`` when the header is absent; an empty or malformed header raises.
    """
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), None)
    if value is None:
        return None
    value = value.strip()
    scheme, _, rest = value.partition(" ")
    token = rest.strip() if scheme.lower() == "bearer" else value
    if not token or " " in token:
        raise AuthError("malformed Authorization header")
    return token


def groups_of(claims: Mapping[str, Any]) -> list[str]:
    """``cognito:groups`` as a list (a token carries a list; a lone string is one group)."""
    raw = claims.get("cognito:groups", [])
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        return []
    return [str(group) for group in raw if str(group)]


def _cognito_time(epoch: Any) -> str:
    """API Gateway renders numeric time claims as e.g. ``Fri Nov 27 17:49:07 UTC 2026``."""
    return datetime.fromtimestamp(int(epoch), tz=UTC).strftime("%a %b %d %H:%M:%S UTC %Y")


def cognito_authorizer_context(claims: Mapping[str, Any]) -> dict[str, Any]:
    """``requestContext.authorizer`` as the Cognito user-pool authorizer fills it.

    Every claim becomes a string; ``cognito:groups`` is rendered as the REST API renders
    an array claim: its elements between brackets, separated by spaces (``[a b]``).
    """
    rendered: dict[str, str] = {}
    for name, value in claims.items():
        if name == "cognito:groups":
            rendered[name] = "[" + " ".join(groups_of(claims)) + "]"
        elif name in {"exp", "iat", "auth_time"} and isinstance(value, int | float):
            rendered[name] = _cognito_time(value)
        elif isinstance(value, str):
            rendered[name] = value
        else:
            rendered[name] = str(value)
    if rendered.get("cognito:groups") == "[]":
        rendered.pop("cognito:groups", None)
    return {"claims": rendered}


ANONYMOUS_PRINCIPAL = "anonymous"


def lambda_authorizer_context(claims: Mapping[str, Any] | None) -> dict[str, Any]:
    """``requestContext.authorizer`` as the optional Lambda REQUEST authorizer returns it.

    API Gateway flattens the authorizer's ``context`` next to ``principalId`` and only
    allows string, number and boolean values, so groups travel as a JSON array in a string
    (as ``functions/optional_authorizer`` sends them).
    """
    if claims is None:
        return {"principalId": ANONYMOUS_PRINCIPAL, "integrationLatency": 0}
    context: dict[str, Any] = {
        "principalId": claims["sub"],
        "sub": claims["sub"],
        "cognito:groups": json.dumps(groups_of(claims), separators=(",", ":")),
        "integrationLatency": 0,
    }
    return context


@dataclass(frozen=True, slots=True)
class AuthorizerSpec:
    """One authorizer of the API: ``cognito`` (user pool) or ``lambda`` (REQUEST, anonymous allowed)."""

    name: str
    kind: str


def authorize(spec: AuthorizerSpec | None, headers: Mapping[str, str], secret: str) -> dict[str, Any] | None:
    """The ``requestContext.authorizer`` for a request, ``None`` for routes without auth.

    Raises :class:`AuthError` where API Gateway would answer 401 without calling the handler.
    """
    if spec is None:
        return None
    token = bearer_token(headers)
    if spec.kind == "cognito":
        if token is None:
            raise AuthError("missing Authorization header")
        return cognito_authorizer_context(verify_token(secret, token))
    if token is None:
        return lambda_authorizer_context(None)
    return lambda_authorizer_context(verify_token(secret, token))
