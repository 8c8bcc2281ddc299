"""Clients are built during Lambda's init (SnapStart captures them), never in tests.

``snapshot_restore_py`` exists only inside Lambda's Python runtime, so it is the one thing
stood in for here (a module object with the same ``register_after_restore`` function).
"""

import gc
import secrets
import sys
import types
from collections.abc import Callable, Iterator

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


@pytest.fixture
def collector() -> Iterator[None]:
    """Whatever a test does to the garbage collector is undone."""
    enabled = gc.isenabled()
    yield
    lifecycle.end_init()
    gc.unfreeze()
    if enabled:
        gc.enable()


@pytest.mark.usefixtures("collector")
def test_collection_pauses_during_a_lambda_init_and_resumes_with_init_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(lifecycle.LAMBDA_INIT_TYPE, "on-demand")
    frozen_before = gc.get_freeze_count()

    lifecycle.pause_collection()
    assert not gc.isenabled()

    lifecycle.end_init()
    assert gc.isenabled()
    assert gc.get_freeze_count() > frozen_before  # what init built is skipped by later collections


@pytest.mark.usefixtures("collector")
def test_collection_is_never_paused_outside_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(lifecycle.LAMBDA_INIT_TYPE, raising=False)
    frozen_before = gc.get_freeze_count()

    lifecycle.pause_collection()
    assert gc.isenabled()

    lifecycle.end_init()
    assert gc.get_freeze_count() == frozen_before


@pytest.mark.usefixtures("collector")
def test_ending_init_leaves_a_collector_someone_else_disabled_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(lifecycle.LAMBDA_INIT_TYPE, "on-demand")
    gc.disable()

    lifecycle.pause_collection()
    lifecycle.end_init()

    assert not gc.isenabled()
