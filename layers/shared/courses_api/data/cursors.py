"""Opaque, tamper-evident cursors over DynamoDB's ``LastEvaluatedKey``.

A cursor is ``base64url(json(key)) + "." + base64url(hmac)``, bound to the list it came
from (its scope), so a client can neither forge a start key nor replay a cursor of one
list against another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, cast

from courses_api.errors import BadRequest

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


class CursorCodec:
    """Signs and verifies cursors with one secret (``CURSOR_SECRET``)."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _signature(self, scope: str, payload: bytes) -> bytes:
        return hmac.new(self._secret, scope.encode() + b"\x00" + payload, hashlib.sha256).digest()[:16]

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
        if not hmac.compare_digest(signature, self._signature(scope, payload)):
            raise InvalidCursor
        try:
            key = json.loads(payload)
        except (ValueError, RecursionError) as error:
            raise InvalidCursor from error
        if not is_start_key(key):
            raise InvalidCursor
        return cast(dict[str, Any], key)
