"""Clients are built during Lambda's init (SnapStart captures them), never in tests.

``snapshot_restore_py`` exists only inside Lambda's Python runtime, so it is the one thing
stood in for here (a module object with the same ``register_after_restore`` function).
"""

import secrets
import sys
import types
from collections.abc import Callable

import pytest
from pydantic import SecretStr

from courses_api import lifecycle
from courses_api.container import Container
from courses_api.settings import Settings


def settings() -> Settings:
    return Settings(courses_table="courses", enrollments_table="enrollments", redis_url="",
                    cursor_secret=SecretStr(secrets.token_urlsafe(32)))


def test_nothing_is_built_outside_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(lifecycle.LAMBDA_INIT_TYPE, raising=False)
    container = Container(settings())
    assert "dynamodb" not in container.__dict__


def test_clients_are_built_during_lambda_init_and_restores_reseed(monkeypatch: pytest.MonkeyPatch) -> None:
    hooks: list[Callable[[], None]] = []
    runtime_hooks = types.ModuleType("snapshot_restore_py")
    runtime_hooks.register_after_restore = hooks.append  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", runtime_hooks)
    monkeypatch.setenv(lifecycle.LAMBDA_INIT_TYPE, "snap-start")
    monkeypatch.setenv("AWS_REGION", "us-east-1")

    container = Container(settings())

    assert "dynamodb" in container.__dict__
    assert "cache" in container.__dict__
    assert hooks == [lifecycle.reseed_after_restore]


@pytest.mark.parametrize(("init_type", "warmed"), [
    ("on-demand", False),
    ("provisioned-concurrency", True),
    ("snap-start", True),
])
def test_warm_runs_only_in_inits_ahead_of_requests(
    monkeypatch: pytest.MonkeyPatch, init_type: str, warmed: bool
) -> None:
    calls: list[str] = []
    monkeypatch.setenv(lifecycle.LAMBDA_INIT_TYPE, init_type)

    lifecycle.prime(lambda: calls.append("build"), lambda: calls.append("warm"))

    assert calls == (["build", "warm"] if warmed else ["build"])


def test_neither_build_nor_warm_runs_outside_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.delenv(lifecycle.LAMBDA_INIT_TYPE, raising=False)

    lifecycle.prime(lambda: calls.append("build"), lambda: calls.append("warm"))

    assert calls == []
