"""Who is calling, from the claims API Gateway's authorizers put in the event.

The Cognito user-pool authorizer puts the token's claims at
``requestContext.authorizer.claims`` (``cognito:groups`` as a string such as
``"[admins, instructors]"`` or ``"admins,instructors"``); the optional-auth Lambda
authorizer puts flat context values at ``requestContext.authorizer``. Both are accepted.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from courses_api.domain.errors import Forbidden, Unauthorized

INSTRUCTORS = "instructors"
ADMINS = "admins"


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


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated (or anonymous) caller of one request."""

    user_id: str | None = None
    groups: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    @property
    def is_admin(self) -> bool:
        return ADMINS in self.groups

    @property
    def is_instructor(self) -> bool:
        return INSTRUCTORS in self.groups

    def may_manage(self, owner_id: str) -> bool:
        """Owner or admin: may see drafts, change or delete, read the roster."""
        return self.is_admin or (self.user_id is not None and self.user_id == owner_id)

    def require_user(self) -> str:
        """The caller's id, or 401 for an anonymous caller."""
        if self.user_id is None:
            raise Unauthorized("Sign in to do this.")
        return self.user_id

    def require_any_group(self, groups: Iterable[str]) -> str:
        """The caller's id when they belong to one of ``groups``; 401/403 otherwise."""
        user_id = self.require_user()
        wanted = frozenset(groups)
        if not self.groups & wanted:
            raise Forbidden(f"This needs one of the roles: {', '.join(sorted(wanted))}.")
        return user_id


ANONYMOUS = Caller()


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
