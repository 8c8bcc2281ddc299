"""``make run``'s Redis line: what it connected to, never the password.

Real servers: a password-protected redis-server given as REDIS_URL, and the default
ElastiCache stand-in (whose cache user's password stands in for the IAM token).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.redis_server import LocalRedis, masked_url, start_redis_server
from local.runtime import LocalRuntime, RunOptions

SECRET = "s3cret-Redis-pass"  # a throw-away password of a throw-away server


def test_masked_url_hides_only_the_password() -> None:
    assert masked_url(f"rediss://app:{SECRET}@cache.example:6379/0") == "rediss://app:****@cache.example:6379/0"
    assert masked_url(f"redis://:{SECRET}@127.0.0.1:6380") == "redis://:****@127.0.0.1:6380"
    assert masked_url("rediss://cache.example:6379") == "rediss://cache.example:6379"


@pytest.fixture
def protected_redis() -> Iterator[LocalRedis]:
    server = start_redis_server(None, "--requirepass", SECRET)
    yield server
    server.stop()


@pytest.fixture
def plain_redis_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A single node without TLS: none of the session stand-in's settings apply."""
    for name in ("REDIS_USERNAME", "REDIS_PASSWORD", "REDIS_TLS_CA_FILE", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REDIS_CLUSTER", "false")
    monkeypatch.setenv("REDIS_AUTH_MODE", "none")


def test_a_redis_url_with_a_password_is_used_and_printed_masked(
    protected_redis: LocalRedis, plain_redis_settings: None
) -> None:
    url = f"redis://:{SECRET}@127.0.0.1:{protected_redis.port}/0"
    runtime = LocalRuntime(RunOptions(redis_url=url))
    runtime._start_redis()
    try:
        assert runtime.redis_note.startswith(f"redis://:****@127.0.0.1:{protected_redis.port}/0 (REDIS_URL)")
        assert SECRET not in runtime.banner("http://127.0.0.1:3000")
    finally:
        runtime.stop()


def test_the_default_stand_in_prints_no_password(monkeypatch: pytest.MonkeyPatch, plain_redis_settings: None) -> None:
    monkeypatch.setenv("CACHE_KEY_PREFIX", "courses-banner")
    runtime = LocalRuntime(RunOptions(redis_url=None))
    runtime._start_redis()
    try:
        assert runtime.standin is not None
        password = runtime.standin.password
        banner = runtime.banner("http://127.0.0.1:3000")
        assert "ElastiCache stand-in" in banner
        assert "password ****" in banner
        assert password not in banner
    finally:
        runtime.stop()
