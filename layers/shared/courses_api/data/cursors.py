"""Opaque, tamper-evident cursors over DynamoDB's ``LastEvaluatedKey``.

A cursor is ``base64url(json(key)) + "." + base64url(hmac)``, bound to the list it came
from (its scope), so a client can neither forge a start key nor replay a cursor of one
list against another.

Rotation: cursors are signed with the current secret and verified with it or any of the
``previous`` ones, so a cursor issued just before a rotation (or by a container that has
not picked the new secret up yet) still works. Caches hold raw keys, never signed cursors.
In AWS the secret is read from Secrets Manager (:func:`secrets_manager_keys`): a plain
string, or ``{"current": ..., "previous": [...]}`` during a rotation (docs/DEPLOY.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from courses_api.errors import BadRequest

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

MAX_CURSOR_LENGTH = 2048
# A LastEvaluatedKey holds the table's key and, on an index, the index's: at most four
# attributes, each a string or a number (DynamoDB numbers have at most 38 digits).
MAX_KEY_ATTRIBUTES = 4
MAX_KEY_STRING = 1024
MAX_KEY_NUMBER = 10**38
MAX_ATTRIBUTE_NAME = 255
INVALID_CURSOR = "The cursor is invalid: use the next_cursor of the previous page, unchanged."


class InvalidCursor(BadRequest):
    """A cursor this API did not issue for this list, or whose key DynamoDB refuses."""

    def __init__(self, detail: str = INVALID_CURSOR) -> None:
        super().__init__(detail)


def is_start_key(key: Any) -> bool:
    """Whether ``key`` has the shape of a DynamoDB key this API could have issued."""
    if not isinstance(key, dict) or not 1 <= len(key) <= MAX_KEY_ATTRIBUTES:
        return False
    for name, value in key.items():
        if not isinstance(name, str) or not 0 < len(name) <= MAX_ATTRIBUTE_NAME:
            return False
        if isinstance(value, str):
            if not 0 < len(value) <= MAX_KEY_STRING:
                return False
        elif isinstance(value, bool) or not isinstance(value, int) or abs(value) >= MAX_KEY_NUMBER:
            return False
    return True


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorSecretError(ValueError):
    """The cursor secret is missing or too weak to sign with (the function refuses to start)."""


def keys_of_secret(text: str) -> tuple[bytes, ...]:
    """The keys a secret's text holds, the signing one first; each checked for strength."""
    from courses_api.settings import cursor_secret_problem

    if text.lstrip().startswith("{"):
        try:
            document = json.loads(text)
            keys = [document["current"], *document.get("previous", [])]
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise CursorSecretError('the cursor secret must be a string or {"current": ..., "previous": [...]}') \
                from error
    else:
        keys = [text]
    for key in keys:
        problem = cursor_secret_problem(key) if isinstance(key, str) else "a cursor key must be a string"
        if problem is not None:
            raise CursorSecretError(problem)
    return tuple(dict.fromkeys(key.encode() for key in keys))


def secrets_manager_keys(secret_id: str, max_age_s: int = 300) -> Callable[[], tuple[bytes, ...]]:
    """Keys read from Secrets Manager through Powertools Parameters, cached ``max_age_s``.

    Re-read at most every ``max_age_s`` (one GetSecretValue per container and period), so a
    rotation reaches every container within that time without a deploy. The provider (boto3
    and a Secrets Manager client) is built on the first read: a function that never pages
    (``GET /courses/{id}``) never loads it.
    """

    @cache
    def provider() -> SecretsProvider:
        from aws_lambda_powertools.utilities.parameters import SecretsProvider
        from botocore.config import Config

        return SecretsProvider(boto_config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 3}))

    def keys() -> tuple[bytes, ...]:
        return keys_of_secret(str(provider().get(secret_id, max_age=max_age_s)))

    return keys


class CursorCodec:
    """Signs cursors with the current secret; verifies with it or one of the ``previous`` ones."""

    def __init__(self, secret: bytes, previous: Sequence[bytes] = ()) -> None:
        keys = (secret, *(key for key in previous if key and key != secret))
        self.keys: Callable[[], tuple[bytes, ...]] = lambda: keys

    @classmethod
    def from_source(cls, keys: Callable[[], tuple[bytes, ...]]) -> CursorCodec:
        """A codec whose keys (the signing one first) are read on every use; ``keys`` caches."""
        codec = cls(b"")
        codec.keys = keys
        return codec

    def _signature(self, scope: str, payload: bytes, secret: bytes | None = None) -> bytes:
        key = self.keys()[0] if secret is None else secret
        return hmac.new(key, scope.encode() + b"\x00" + payload, hashlib.sha256).digest()[:16]

    def encode(self, scope: str, last_key: dict[str, Any] | None) -> str | None:
        """The cursor for the page after ``last_key``; ``None`` at the end of the list."""
        if not last_key:
            return None
        payload = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
        return f"{_b64(payload)}.{_b64(self._signature(scope, payload))}"

    def decode(self, scope: str, cursor: str | None) -> dict[str, Any] | None:
        """The ``ExclusiveStartKey`` a cursor stands for; 400 if it was not made by us for ``scope``.

        A correctly signed cursor is checked too: its key must have the shape of a key we
        issue (a leaked secret must not turn into 500s or 503s further down).
        """
        if cursor is None or cursor == "":
            return None
        if len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1:
            raise InvalidCursor
        payload_text, signature_text = cursor.split(".")
        try:
            payload = _unb64(payload_text)
            signature = _unb64(signature_text)
        except (ValueError, TypeError) as error:
            raise InvalidCursor from error
        if not any(hmac.compare_digest(signature, self._signature(scope, payload, key)) for key in self.keys()):
            raise InvalidCursor
        try:
            key = json.loads(payload)
        except (ValueError, RecursionError) as error:
            raise InvalidCursor from error
        if not is_start_key(key):
            raise InvalidCursor
        return cast(dict[str, Any], key)
