"""The ElastiCache IAM token's age is wall-clock time, not the container's monotonic clock.

Lambda freezes an idle execution environment: ``time.monotonic`` stands still while it is
frozen, but the token's SigV4 date keeps ageing, and ElastiCache refuses a token older than
15 minutes. Here the monotonic clock is frozen outright (as it is across a freeze) while the
wall clock moves past the refresh interval: the provider must sign a new token.
"""

from __future__ import annotations

import time
import urllib.parse

import pytest
from botocore.credentials import Credentials

from courses_api.cache.client import IAM_TOKEN_REFRESH_S, ElastiCacheIAMProvider, IAMTarget


class WallClock:
    """A settable stand-in for ``time.time``."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _access_key(token: str) -> str:
    return urllib.parse.parse_qs(token.split("?", 1)[1])["X-Amz-Credential"][0].split("/", 1)[0]


def test_token_is_resigned_after_a_freeze_that_stopped_the_monotonic_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given: a frozen monotonic clock and a wall clock we move by hand
    wall = WallClock(1_767_225_600.0)  # 2026-01-01T00:00:00Z
    monkeypatch.setattr(time, "monotonic", lambda: 5_000.0)
    monkeypatch.setattr(time, "time", wall)
    provider = ElastiCacheIAMProvider(
        IAMTarget("app-user", "my-cache", "eu-west-1", serverless=True),
        credentials=Credentials("AKIDEXAMPLE", "secret"),
    )
    _, first = provider.get_credentials()  # type: ignore[misc]

    # When: the environment sleeps past the refresh interval (monotonic time does not move),
    # and the function's role credentials rotate meanwhile, as they do
    wall.now += IAM_TOKEN_REFRESH_S + 1
    provider._credentials = Credentials("AKIDROTATED", "secret2")

    # Then: the next connection gets a freshly signed token
    _, second = provider.get_credentials()  # type: ignore[misc]
    assert _access_key(first) == "AKIDEXAMPLE"
    assert _access_key(second) == "AKIDROTATED", "a token older than the refresh interval was reused"


def test_token_is_reused_while_the_wall_clock_says_it_is_fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    wall = WallClock(1_767_225_600.0)
    monkeypatch.setattr(time, "time", wall)
    provider = ElastiCacheIAMProvider(
        IAMTarget("app-user", "my-cache", "eu-west-1"), credentials=Credentials("AKIDEXAMPLE", "secret")
    )
    _, first = provider.get_credentials()  # type: ignore[misc]
    wall.now += IAM_TOKEN_REFRESH_S - 1
    provider._credentials = Credentials("AKIDROTATED", "secret2")
    assert provider.get_credentials()[1] == first  # type: ignore[misc]
