r"""The caller: the Cognito authorizer's claims, or (``from_token``: routes without an authorizer)
the bearer token alone, verified here, ``requestContext.authorizer`` never read.

``cognito:groups`` is a JSON array in the token (a list once verified here), but the REST API's
Cognito authorizer flattens every claim to a string: an array becomes its elements between
brackets, separated by spaces (``"[admins instructors]"``; ``"[operator]"`` for one group, and a
bare ``"team_manager"`` has been reported for one group too: AWS re:Post, "AWS Cognito Group":
https://repost.aws/questions/QUFJRBaEJRSmmqarNrvCWoQA).

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


_last: tuple[Mapping[str, Any], Caller] | None = None  # the request in flight (one per container): resolved once


def caller_from_event(event: Mapping[str, Any], *, from_token: bool = False) -> Caller:
    """The caller of a REST proxy event; :class:`Unauthorized` for a present but bad token."""
    global _last  # noqa: PLW0603 - a one-entry memo; a rejected request is anonymous once answered
    memo = _last  # read once: a thread calling in meanwhile replaces the memo, never this answer
    if memo is None or memo[0] is not event:
        try:
            claims = (tokens.claims_of(event.get("headers")) if from_token else _authorizer_claims(event)) or {}
        except tokens.TokenRejected as rejected:
            _last = (event, ANONYMOUS)
            raise Unauthorized(str(rejected)) from rejected
        sub = claims.get("sub")
        memo = _last = (event, Caller(sub, parse_groups(claims.get("cognito:groups")))
                        if isinstance(sub, str) and sub else ANONYMOUS)
    return memo[1]


def _authorizer_claims(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    claims = authorizer.get("claims") if isinstance(authorizer, Mapping) else None
    return claims if isinstance(claims, Mapping) else None
