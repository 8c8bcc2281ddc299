"""Lambda REQUEST authorizer for routes that anonymous callers may use too.

API Gateway's Cognito authorizer rejects requests without a token, so routes such as
``GET /courses/{course_id}`` (drafts visible to their owner) need this one instead:

* no ``Authorization`` header → allowed, with no claims (an anonymous caller);
* a valid Cognito **ID token** (RS256, issuer = the user pool, audience = the app client,
  ``token_use`` = ``id``) →
  allowed, with ``sub`` and ``cognito:groups`` (a JSON array in a string) in the context, which
  API Gateway passes to the function as ``requestContext.authorizer.<key>``;
* a present but bad, expired or foreign token → ``Unauthorized`` (API Gateway's 401).

Access tokens are refused, like the Cognito user-pool authorizer of the other routes
refuses them (it has no OAuth scopes configured, so it accepts ID tokens only): one token
gets one answer on every route.

The JWKS is fetched once per container and cached by ``PyJWKClient``. This function is
deliberately *not* in the VPC: it must reach Cognito's JWKS endpoint, and the VPC has no NAT.
Result caching is off in the template (no identity source), so the policy names the one
method ARN of this request.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from typing import Any

import jwt
from aws_lambda_powertools import Logger

logger = Logger()

JWKS_TIMEOUT_S = 2
JWKS_LIFESPAN_S = 3600
LEEWAY_S = 5
ANONYMOUS = "anonymous"
ID_TOKEN_USE = "id"  # noqa: S105 - not a secret: the token_use of the only tokens API Gateway's Cognito authorizer accepts without OAuth scopes


class Unauthorized(Exception):
    """Raised for a token that is present but not acceptable; API Gateway answers 401."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


@lru_cache(maxsize=1)
def _config() -> tuple[str, str]:
    """(issuer, app client id) of the user pool, read once per container."""
    region = os.environ["AWS_REGION"]
    pool_id = os.environ["USER_POOL_ID"]
    return f"https://cognito-idp.{region}.amazonaws.com/{pool_id}", os.environ["USER_POOL_CLIENT_ID"]


@lru_cache(maxsize=1)
def _jwks_client(issuer: str) -> jwt.PyJWKClient:
    """One JWKS client per container: keys are cached, refetched only for an unknown ``kid``."""
    return jwt.PyJWKClient(
        f"{issuer}/.well-known/jwks.json",
        cache_keys=True,
        lifespan=JWKS_LIFESPAN_S,
        timeout=JWKS_TIMEOUT_S,
    )


def bearer_token(headers: dict[str, str] | None) -> str | None:
    """The token of the ``Authorization`` header (``Bearer x`` or a bare token), if any."""
    for name, value in (headers or {}).items():
        if name.lower() == "authorization" and value and value.strip():
            scheme, _, rest = value.strip().partition(" ")
            return rest.strip() if scheme.lower() == "bearer" and rest.strip() else value.strip()
    return None


def verify(token: str, signing_key: Any, issuer: str, client_id: str) -> dict[str, Any]:
    """Claims of a Cognito ID token issued by ``issuer`` for ``client_id``.

    Raises :class:`Unauthorized` for any signature, expiry, issuer, audience or token-type
    problem (an access token included).
    """
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            signing_key,
            algorithms=["RS256"],
            issuer=issuer,
            audience=client_id,
            leeway=LEEWAY_S,
            options={"require": ["exp", "iss", "sub", "aud", "token_use"]},
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized from exc
    if claims.get("token_use") != ID_TOKEN_USE:
        raise Unauthorized
    return claims


def groups_of(claims: dict[str, Any]) -> str:
    """``cognito:groups`` as a JSON array in a string: an authorizer context holds only
    strings, and a group name may contain commas, so joining with commas would be ambiguous."""
    groups = claims.get("cognito:groups") or []
    if isinstance(groups, str):
        groups = [groups]
    return json.dumps([str(group) for group in groups], separators=(",", ":"))


def policy(principal_id: str, method_arn: str, context: dict[str, str]) -> dict[str, Any]:
    """An Allow policy for exactly this method (results are not cached across methods)."""
    return {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": method_arn}],
        },
        "context": context,
    }


@logger.inject_lambda_context(log_event=False)
def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Allow anonymous callers; verify and pass on the claims of signed-in ones."""
    method_arn: str = event["methodArn"]
    token = bearer_token(event.get("headers"))
    if token is None:
        return policy(ANONYMOUS, method_arn, {})

    issuer, client_id = _config()
    try:
        signing_key = _jwks_client(issuer).get_signing_key_from_jwt(token).key
    except jwt.PyJWKClientConnectionError:
        # Cognito unreachable is our fault, not the caller's: let API Gateway answer 500.
        logger.exception("JWKS fetch failed")
        raise
    except jwt.PyJWTError as exc:  # malformed token, or a kid the pool never issued
        logger.info("token rejected", extra={"reason": type(exc).__name__})
        raise Unauthorized from exc

    try:
        claims = verify(token, signing_key, issuer, client_id)
    except Unauthorized as exc:
        logger.info("token rejected", extra={"reason": type(exc.__cause__).__name__})
        raise
    return policy(str(claims["sub"]), method_arn, {"sub": str(claims["sub"]), "cognito:groups": groups_of(claims)})
