"""Local stand-in for Cognito and the API's authorizer: RS256 ID tokens from a key pair made per run.

In AWS, Cognito signs ID tokens with the user pool's keys; the REST API's Cognito authorizer
verifies them and hands the handler their claims at ``requestContext.authorizer.claims``
(every value a string, ``cognito:groups`` as ``[a b]``), and the routes anonymous callers may
use have no authorizer: their function verifies the token itself against the JWKS the deploy
gives it (``TOKEN_JWKS``). Here ``make run`` makes an RS256 key pair at start, gives those
functions its JWKS, issuer and app client the same way, and the authorizer stand-in verifies
tokens with the layer's own code (:mod:`courses_api.tokens`), so a local run exercises the
real verification. The private key is written to ``LOCAL_AUTH_KEY_FILE`` (owner-only) for
``make token``; every start replaces it, so tokens of an earlier run stop working.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from local.template import LOCAL_REGION, REPO_ROOT

ALGORITHM = "RS256"
ADMINS = "admins"
LOCAL_POOL_ID = f"{LOCAL_REGION}_local"
ISSUER = f"https://cognito-idp.{LOCAL_REGION}.amazonaws.com/{LOCAL_POOL_ID}"
CLIENT_ID = "courses-api-local"
DEFAULT_TTL_S = 12 * 3600
DEFAULT_KEY_FILE = REPO_ROOT / ".local" / "auth-key.pem"
LAYER_DIR = REPO_ROOT / "layers" / "shared"


class AuthError(Exception):
    """A token that API Gateway would reject with 401 (missing, malformed, bad signature, expired)."""


class InsecureSecretError(RuntimeError):
    """A development secret on a non-loopback interface: anyone could use it."""


def key_file(environ: Mapping[str, str] | None = None) -> Path:
    """Where the run's private key is kept (``LOCAL_AUTH_KEY_FILE``, else ``.local/auth-key.pem``)."""
    value = (os.environ if environ is None else environ).get("LOCAL_AUTH_KEY_FILE")
    return Path(value) if value else DEFAULT_KEY_FILE


@dataclass(frozen=True)
class LocalAuth:
    """A stand-in user pool: one RS256 signing key, its ``kid``, the issuer and the app client."""

    private_key: rsa.RSAPrivateKey
    kid: str
    issuer: str = ISSUER
    audience: str = CLIENT_ID

    @classmethod
    def generate(cls) -> LocalAuth:
        """A fresh key pair (2048 bits, as Cognito's) with a random ``kid``."""
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048), secrets.token_urlsafe(16))

    def save(self, path: Path) -> None:
        """Write the private key (PEM, the ``kid`` in a comment line) readable by the owner only."""
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = self.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption())
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(f"kid: {self.kid}\n".encode() + pem)

    @classmethod
    def load(cls, path: Path) -> LocalAuth:
        """The key ``make run`` wrote; :class:`FileNotFoundError` when no run made one."""
        first, _, pem = path.read_bytes().partition(b"\n")
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey) or not first.startswith(b"kid: "):
            raise ValueError(f"{path} is not a key written by make run")
        return cls(key, first.removeprefix(b"kid: ").decode().strip())

    @cached_property
    def jwks(self) -> str:
        """The public half as a JWKS, shaped like Cognito's ``/.well-known/jwks.json``."""
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update({"kid": self.kid, "alg": ALGORITHM, "use": "sig"})
        return json.dumps({"keys": [jwk]}, separators=(",", ":"))

    def environment(self) -> dict[str, str]:
        """What the token-verifying functions get, as the template gives it to them in AWS."""
        return {"TOKEN_JWKS": self.jwks, "TOKEN_ISSUER": self.issuer, "TOKEN_AUDIENCE": self.audience}

    def mint(self, sub: str, groups: Sequence[str] = (), *, ttl_s: int = DEFAULT_TTL_S, now: float | None = None,
             **claims: Any) -> str:
        """A signed ID token with the claims Cognito puts in one (``claims`` override them; ``None`` drops one)."""
        issued = int(now if now is not None else time.time())
        payload: dict[str, Any] = {
            "sub": sub, "cognito:groups": [group for group in groups if group], "cognito:username": sub,
            "token_use": "id", "iss": self.issuer, "aud": self.audience, "iat": issued, "auth_time": issued,
            "exp": issued + ttl_s, **claims,
        }
        payload = {name: value for name, value in payload.items() if value is not None}
        return jwt.encode(payload, self.private_key, algorithm=ALGORITHM, headers={"kid": self.kid})

    def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, checked by the layer's verifier (the functions' own rules); else :class:`AuthError`."""
        if str(LAYER_DIR) not in sys.path:
            sys.path.insert(0, str(LAYER_DIR))
        from courses_api.tokens import EXPIRED, TokenRejected, verify  # the layer, as the functions run it

        try:
            return verify(token, self.jwks, self.issuer, self.audience)
        except TokenRejected as error:
            raise AuthError("token expired" if str(error) == EXPIRED else "invalid token") from error


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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


@dataclass(frozen=True, slots=True)
class AuthorizerSpec:
    """One authorizer of the API: ``cognito`` (user pool) or ``lambda`` (REQUEST; this API has none)."""

    name: str
    kind: str


def authorize(spec: AuthorizerSpec | None, headers: Mapping[str, str], auth: LocalAuth) -> dict[str, Any] | None:
    """The ``requestContext.authorizer`` for a request, ``None`` for routes without an authorizer.

    Raises :class:`AuthError` where API Gateway would answer 401 without calling the handler.
    """
    if spec is None:
        return None
    if spec.kind != "cognito":
        raise AuthError(f"the {spec.name} authorizer is not a Cognito user-pool authorizer")
    token = bearer_token(headers)
    if token is None:
        raise AuthError("missing Authorization header")
    return cognito_authorizer_context(auth.verify(token))
