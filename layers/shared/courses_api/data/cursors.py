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
from typing import Any

from courses_api.errors import BadRequest

MAX_CURSOR_LENGTH = 2048


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
        """The ``ExclusiveStartKey`` a cursor stands for; 400 if it was not made by us for ``scope``."""
        if cursor is None or cursor == "":
            return None
        invalid = BadRequest("The cursor is invalid: use the next_cursor of the previous page, unchanged.")
        if len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1:
            raise invalid
        payload_text, signature_text = cursor.split(".")
        try:
            payload = _unb64(payload_text)
            signature = _unb64(signature_text)
        except (ValueError, TypeError) as error:
            raise invalid from error
        if not hmac.compare_digest(signature, self._signature(scope, payload)):
            raise invalid
        try:
            key = json.loads(payload)
        except ValueError as error:
            raise invalid from error
        if not isinstance(key, dict):
            raise invalid
        return key
