"""One mapping from domain errors to problem+json: statuses, slugs and headers live in http/."""

from __future__ import annotations

import json
import secrets

import pytest

from courses_api import errors
from courses_api.errors import (
    BadRequest,
    Conflict,
    DependencyUnavailable,
    DomainError,
    Forbidden,
    IdempotencyKeyReused,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    Unauthorized,
)
from courses_api.http.problems import PROBLEM_BASE, PROBLEM_CONTENT_TYPE, PROBLEM_OF_ERROR, error_response
from courses_api.http.resolver import cors_config
from courses_api.settings import HttpSettings, Settings


@pytest.mark.parametrize(
    ("error", "status", "slug"),
    [
        (BadRequest("bad cursor"), 400, "bad-request"),
        (Unauthorized("sign in"), 401, "unauthorized"),
        (Forbidden("not yours"), 403, "forbidden"),
        (NotFound("no such course"), 404, "not-found"),
        (Conflict("archived"), 409, "conflict"),
        (PreconditionFailed("stale"), 412, "precondition-failed"),
        (IdempotencyKeyReused("other course"), 422, "idempotency-key-reused"),
        (PreconditionRequired("send If-Match"), 428, "precondition-required"),
        (DependencyUnavailable("database down"), 503, "dependency-unavailable"),
    ],
)
def test_each_domain_error_has_its_status_and_problem_type(error: DomainError, status: int, slug: str) -> None:
    response = error_response(error)
    assert isinstance(response.body, str)
    body = json.loads(response.body)
    assert response.status_code == status
    assert response.content_type == PROBLEM_CONTENT_TYPE
    assert body == {"type": PROBLEM_BASE + slug, "title": body["title"], "status": status, "detail": error.detail}
    # RFC 9110 §11.6.1: a 401 "MUST send a WWW-Authenticate header field" (as the gateway's 401s do).
    assert set(response.headers) == ({"Content-Type", "WWW-Authenticate"} if status == 401 else {"Content-Type"})


def test_every_error_class_is_mapped_explicitly() -> None:
    """A new error class must be given its status here, not fall back to 400 unnoticed."""
    declared = {value for value in vars(errors).values() if isinstance(value, type) and issubclass(value, DomainError)}
    assert declared == set(PROBLEM_OF_ERROR)


def test_a_new_subclass_inherits_its_parents_problem() -> None:
    class CourseArchived(Conflict):
        pass

    assert error_response(CourseArchived("archived")).status_code == 409


def test_typed_attributes_become_headers() -> None:
    # Given errors carrying the current version and a retry delay, not headers
    stale = PreconditionFailed("stale", current_version=7)
    busy = Conflict("in progress", retry_after_s=1)
    # Then only the HTTP mapping turns them into ETag and Retry-After
    assert error_response(stale).headers["ETag"] == '"7"'
    assert error_response(busy).headers["Retry-After"] == "1"
    assert "ETag" not in error_response(PreconditionFailed("changed meanwhile")).headers
    assert not hasattr(stale, "status")
    assert not hasattr(stale, "headers")


def test_cors_comes_from_the_settings_field() -> None:
    tables = {"COURSES_TABLE": "courses", "ENROLLMENTS_TABLE": "enrollments",
              "CURSOR_SECRET": secrets.token_urlsafe(32)}
    assert cors_config(Settings.from_environment(tables)) is None
    # the HTTP part of the settings needs no table names: functions build their resolver at import
    settings = HttpSettings.from_environment({"ALLOWED_ORIGINS": "https://a.example, https://b.example"})
    assert Settings.from_environment({**tables, "ALLOWED_ORIGINS": "https://a.example"}).cors_origins == [
        "https://a.example"
    ]
    config = cors_config(settings)
    assert config is not None
    assert config.to_dict("https://b.example")["Access-Control-Allow-Origin"] == "https://b.example"
    assert "Access-Control-Allow-Origin" not in config.to_dict("https://evil.example")
