"""The caller of a request, from the claims API Gateway's authorizers put in the event.

The Cognito user-pool authorizer puts the token's claims at
``requestContext.authorizer.claims`` (``cognito:groups`` as a string such as
``"[admins, instructors]"`` or ``"admins,instructors"``); the optional-auth Lambda
authorizer puts flat context values at ``requestContext.authorizer``. Both are accepted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from courses_api.domain.auth import ANONYMOUS, Caller


def parse_groups(raw: Any) -> frozenset[str]:
    """Accept every form ``cognito:groups`` arrives in: list, JSON list, ``[a, b]``, ``a,b``, ``a b``."""
    if raw is None or raw == "":
        return frozenset()
    if isinstance(raw, list | tuple | set | frozenset):
        return frozenset(str(item).strip() for item in raw if str(item).strip())
    text = str(raw).strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text.strip("[]").split(",")
        if isinstance(parsed, list):
            return frozenset(str(item).strip() for item in parsed if str(item).strip())
    separators = text.replace(",", " ").split()
    return frozenset(item for item in separators if item)



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
