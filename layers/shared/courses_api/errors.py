"""The errors a client can be told about, with no notion of HTTP.

Services raise these; adapters translate ``ClientError``/``RedisError`` into them
(``raise ... from error``); the HTTP adapter maps each class to a status, headers and a
problem+json body in one place (:mod:`courses_api.http.problems`). What a response needs
beyond the message (the current version of a course, how long to wait before retrying)
travels as a typed attribute, never as a header.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base of every error a client can be told about; ``detail`` is safe to show."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(DomainError):
    """The request is malformed in a way no model caught (bad cursor, bad header)."""


class Unauthorized(DomainError):
    """The caller is anonymous and the operation needs a signed-in user."""


class Forbidden(DomainError):
    """The caller is known but may not do this."""


class NotFound(DomainError):
    """No such resource, or one the caller may not even know exists."""


class Conflict(DomainError):
    """The resource's state forbids the operation; ``retry_after_s`` when waiting helps."""

    def __init__(self, detail: str, *, retry_after_s: int | None = None) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class PreconditionFailed(DomainError):
    """A conditional write found the resource at another version (``current_version``)."""

    def __init__(self, detail: str, *, current_version: int | None = None) -> None:
        super().__init__(detail)
        self.current_version = current_version


class PreconditionRequired(DomainError):
    """A write that must be conditional came without its precondition."""


class IdempotencyKeyReused(DomainError):
    """An idempotency key was used before for a different request."""


class DependencyUnavailable(DomainError):
    """DynamoDB (the source of truth) could not answer; the client may retry."""
