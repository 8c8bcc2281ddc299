"""Settings come from the environment, by field name in any case, validated once."""

import secrets

import pytest
from pydantic import ValidationError

from courses_api import lifecycle
from courses_api.data.cursors import CursorSecretError
from courses_api.settings import Settings
from tests.support.functions import load_function

STRONG = secrets.token_urlsafe(32)


def test_reads_variables_case_insensitively_and_ignores_others() -> None:
    settings = Settings.from_environment({
        "COURSES_TABLE": "courses", "ENROLLMENTS_TABLE": "enrollments", "REDIS_CLUSTER": "true",
        "NEAR_CACHE_TTL_S": "0", "AWS_REGION": "eu-west-1", "PATH": "/usr/bin", "CURSOR_SECRET": STRONG,
    })
    assert settings.redis_cluster is True
    assert settings.near_cache_ttl_s == 0
    assert settings.aws_region == "eu-west-1"
    assert not settings.cache_enabled


@pytest.mark.parametrize(
    "environ",
    [
        {},
        {"COURSES_TABLE": "courses"},
        {"COURSES_TABLE": "courses", "ENROLLMENTS_TABLE": "enrollments", "REDIS_AUTH_MODE": "kerberos",
         "CURSOR_SECRET": STRONG},
        {"COURSES_TABLE": "courses", "ENROLLMENTS_TABLE": "enrollments", "NEAR_CACHE_TTL_S": "-1",
         "CURSOR_SECRET": STRONG},
    ],
)
def test_missing_or_invalid_variables_fail_at_cold_start(environ: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Settings.from_environment(environ)


TABLES = {"COURSES_TABLE": "courses", "ENROLLMENTS_TABLE": "enrollments"}


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("", "empty"),
        ("short-but-random-9f8a", "under 32 bytes"),
        ("local-development-cursor-secret", "the public development default"),
        ("a" * 64, "a placeholder"),
        ("0123456" * 10, "seven distinct characters"),
    ],
)
def test_a_weak_cursor_secret_is_refused(secret: str, why: str) -> None:
    with pytest.raises(ValidationError, match="cursor_secret"):
        Settings.from_environment({**TABLES, "CURSOR_SECRET": secret})
    with pytest.raises(ValidationError, match="cursor_secret_previous"):
        Settings.from_environment({**TABLES, "CURSOR_SECRET": STRONG, "CURSOR_SECRET_PREVIOUS": secret})


def test_a_strong_cursor_secret_is_kept_secret() -> None:
    settings = Settings.from_environment({**TABLES, "CURSOR_SECRET": STRONG})
    assert settings.cursor_secret is not None
    assert settings.cursor_secret.get_secret_value() == STRONG
    assert STRONG not in repr(settings)


def test_a_deployed_function_without_a_cursor_secret_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given Lambda's init phase (where the container builds its clients) and no CURSOR_SECRET
    monkeypatch.setenv(lifecycle.LAMBDA_INIT_TYPE, "on-demand")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    for name, value in TABLES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("CURSOR_SECRET", raising=False)
    # Then importing a function that pages (its init) fails, before any request is served
    with pytest.raises(CursorSecretError, match="cursor_secret"):
        load_function("list_courses")
