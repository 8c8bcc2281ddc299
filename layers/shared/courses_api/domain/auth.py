"""Who is calling: the caller of one request and the roles the API knows.

Built by the HTTP adapter from the authorizer's claims (:mod:`courses_api.http.caller`);
the services only ask it questions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from courses_api.errors import Forbidden, Unauthorized

INSTRUCTORS = "instructors"
ADMINS = "admins"


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

    def may_see(self, status: str, owner_id: str) -> bool:
        """The one visibility rule, on every route: a published course is visible to anyone;
        a draft or archived one only to its owner and admins (others are told 404), enrolled
        students included."""
        return status == "published" or self.may_manage(owner_id)

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
