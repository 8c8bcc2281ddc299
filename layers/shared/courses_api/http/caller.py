r"""The caller of a request, from the claims API Gateway's authorizers put in the event.

``cognito:groups`` is a JSON array in the token, but API Gateway flattens every claim to a
string before the function sees it, and the shape depends on who flattened it:

* the Cognito user-pool authorizer of a REST API (``requestContext.authorizer.claims``)
  renders an array as its elements between brackets, separated by spaces:
  ``"[admins instructors]"``; events captured behind it show ``"[operator]"`` for one
  group, and a bare ``"team_manager"`` has been reported for one group too (AWS re:Post,
  "AWS Cognito Group": https://repost.aws/questions/QUFJRBaEJRSmmqarNrvCWoQA);
* this API's optional Lambda authorizer (``requestContext.authorizer.cognito:groups``)
  sends a JSON array in a string, ``'["admins","instructors"]'``, because a Lambda
  authorizer's context may only hold strings, numbers and booleans;
* the local server's events carry the same shapes; in-process callers may pass a list.

Cognito group names may contain any letter, mark, symbol, number or punctuation, commas
and brackets included, but no whitespace (the ``GroupName`` pattern of Cognito's
``CreateGroup`` API reference is ``[\p{L}\p{M}\p{S}\p{N}\p{P}]+``, 1-128 characters).
So whitespace is the only safe separator: a comma is part of a name, and a group called
``x,admins`` is one group that grants nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from courses_api.domain.auth import ANONYMOUS, Caller

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
    """The groups of ``cognito:groups`` in each shape an authorizer delivers it (see above).

    A list (or tuple, set) is taken as is; a string holding a JSON array of strings is that
    array; a string between one pair of brackets is its whitespace-separated names; any
    other string is one group name. Nothing is ever split on commas.
    """
    if raw is None:
        return frozenset()
    if isinstance(raw, list | tuple | set | frozenset):
        return _names(raw)
    if not isinstance(raw, str):
        return frozenset()
    text = raw.strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, list) and all(isinstance(item, str) for item in parsed):
            return _names(parsed)
        return _names(text[1:-1].split())
    return _names([text])


def caller_from_event(event: Mapping[str, Any]) -> Caller:
    """Build the caller from a REST proxy event; never trusts anything but the authorizer."""
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    if not isinstance(authorizer, Mapping):
        return ANONYMOUS
    claims = authorizer.get("claims")
    source: Mapping[str, Any] = claims if isinstance(claims, Mapping) else authorizer
    sub = source.get("sub")
    if not isinstance(sub, str) or not sub:
        return ANONYMOUS
    return Caller(user_id=sub, groups=parse_groups(source.get("cognito:groups")))
