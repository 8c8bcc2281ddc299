"""``make run`` without CURSOR_SECRET gets a random key per run; a configured key must be strong."""

from __future__ import annotations

import secrets

import pytest

from local.auth import InsecureSecretError
from local.runtime import ensure_cursor_secret


def test_an_unset_secret_becomes_a_random_key_per_run() -> None:
    first: dict[str, str] = {}
    second: dict[str, str] = {"CURSOR_SECRET": ""}
    assert "random" in ensure_cursor_secret(first)
    ensure_cursor_secret(second)
    assert len(first["CURSOR_SECRET"].encode()) >= 32
    assert first["CURSOR_SECRET"] != second["CURSOR_SECRET"]


@pytest.mark.parametrize("weak", ["local-development-cursor-secret", "too-short", "x" * 40])
def test_a_weak_configured_secret_refuses_to_start(weak: str) -> None:
    with pytest.raises(InsecureSecretError, match="CURSOR_SECRET"):
        ensure_cursor_secret({"CURSOR_SECRET": weak})


def test_a_strong_configured_secret_is_kept() -> None:
    strong = secrets.token_urlsafe(32)
    environ = {"CURSOR_SECRET": strong}
    assert ensure_cursor_secret(environ) == "from CURSOR_SECRET"
    assert environ["CURSOR_SECRET"] == strong
