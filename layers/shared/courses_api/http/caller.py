r"""The caller of a request: the Cognito authorizer's claims, or a token the function verifies.

Routes behind the Cognito user-pool authorizer read ``requestContext.authorizer.claims``.
Routes anonymous callers may use have no authorizer (their function's app is made with
``create_app(verify_tokens=True)``): there the caller comes from the bearer token alone,
verified by :mod:`courses_api.tokens` against ``TOKEN_JWKS``, and ``requestContext.authorizer``
is never read.

``cognito:groups`` is a JSON array in the token, but the REST API's Cognito authorizer
flattens every claim to a string: an array becomes its elements between brackets,
separated by spaces (``"[admins instructors]"``; ``"[operator]"`` for one group, and a bare
``"team_manager"`` has been reported for one group too: AWS re:Post, "AWS Cognito Group":
https://repost.aws/questions/QUFJRBaEJRSmmqarNrvCWoQA). A verified token gives a list.

Cognito group names may contain any letter, mark, symbol, number or punctuation, commas
and brackets included, but no whitespace (the ``GroupName`` pattern of Cognito's
``CreateGroup`` API reference is ``[\p{L}\p{M}\p{S}\p{N}\p{P}]+``, 1-128 characters).
So whitespace is the only safe separator: a comma is part of a name, and a group called
``x,admins`` is one group that grants nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from courses_api import tokens
from courses_api.domain.auth import ANONYMOUS, Caller
from courses_api.errors import Unauthorized

MAX_GROUPS = 100  # a user belongs to at most 100 groups in a user pool
MAX_GROUP_NAME = 128
# The details of template.yaml's gateway responses UNAUTHORIZED and EXPIRED_TOKEN: one token,
# one answer, whichever side of the gateway checks it.
TOKEN_INVALID = "A valid bearer token (a Cognito ID token) is required."  # noqa: S105 - a message
TOKEN_EXPIRED = "The token has expired."  # noqa: S105 - a message


def _names(items: Any) -> frozenset[str]:
    """Group names from a sequence: strings only, bounded, none empty or with whitespace."""
    names = [item for item in items if isinstance(item, str)]
    return frozenset(
        name for name in names[:MAX_GROUPS]
        if name and len(name) <= MAX_GROUP_NAME and not any(char.isspace() for char in name)
    )


def parse_groups(raw: Any) -> frozenset[str]:
    """The groups of ``cognito:groups`` in each shape it arrives in (see above).

    A list (or tuple, set) is taken as is; a string between one pair of brackets is its
    whitespace-separated names; any other string is one group name. Nothing is ever split
    on commas.
    """
    if isinstance(raw, list | tuple | set | frozenset):
        return _names(raw)
    if not isinstance(raw, str):
        return frozenset()
    text = raw.strip()
    if text.startswith("[") and text.endswith("]"):
        return _names(text[1:-1].split())
    return _names([text])


# The caller of the request being served (one at a time per container): resolved once.
_last: tuple[Mapping[str, Any], Caller] | None = None


def caller_from_event(event: Mapping[str, Any], *, from_token: bool = False) -> Caller:
    """The caller of a REST proxy event: from its verified bearer token (``from_token``) or the
    Cognito authorizer's claims; :class:`Unauthorized` for a present but bad token."""
    global _last  # noqa: PLW0603 - a one-entry memo of the request in flight
    if _last is not None and _last[0] is event:
        return _last[1]
    caller = _token_caller(event) if from_token else _authorizer_caller(event)
    _last = (event, caller)
    return caller


def is_signed_in(event: Mapping[str, Any], *, from_token: bool = False) -> bool:
    """Whether the request comes from a verified caller (a rejected token: no)."""
    try:
        return caller_from_event(event, from_token=from_token).is_authenticated
    except Unauthorized:
        return False


def _token_caller(event: Mapping[str, Any]) -> Caller:
    """The caller of the bearer token, verified here; anonymous without one."""
    try:
        claims = tokens.claims_of(event.get("headers"))
    except tokens.TokenRejected as rejected:
        raise Unauthorized(TOKEN_EXPIRED if rejected.expired else TOKEN_INVALID) from rejected
    if claims is None:
        return ANONYMOUS
    return Caller(user_id=claims["sub"], groups=parse_groups(claims.get("cognito:groups")))


def _authorizer_caller(event: Mapping[str, Any]) -> Caller:
    """The caller of the Cognito authorizer's claims; never trusts anything but the authorizer."""
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    claims = authorizer.get("claims") if isinstance(authorizer, Mapping) else None
    if not isinstance(claims, Mapping):
        return ANONYMOUS
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        return ANONYMOUS
    return Caller(user_id=sub, groups=parse_groups(claims.get("cognito:groups")))
