"""Settings come from the environment, by field name in any case, validated once."""

import pytest
from pydantic import ValidationError

from courses_api.settings import Settings


def test_reads_variables_case_insensitively_and_ignores_others() -> None:
    settings = Settings.from_environment({
        "COURSES_TABLE": "courses", "ENROLLMENTS_TABLE": "enrollments", "REDIS_CLUSTER": "true",
        "NEAR_CACHE_TTL_S": "0", "AWS_REGION": "eu-west-1", "PATH": "/usr/bin",
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
        {"COURSES_TABLE": "courses", "ENROLLMENTS_TABLE": "enrollments", "REDIS_AUTH_MODE": "kerberos"},
        {"COURSES_TABLE": "courses", "ENROLLMENTS_TABLE": "enrollments", "NEAR_CACHE_TTL_S": "-1"},
    ],
)
def test_missing_or_invalid_variables_fail_at_cold_start(environ: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Settings.from_environment(environ)

