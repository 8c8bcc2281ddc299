"""Malformed requests over real HTTP to the local API: every answer is a 4xx problem+json.

The cases that gave 500s before (issue: hostile input): nested JSON past the recursion
limit, bodies that are not UTF-8, JSON-like media types the API does not accept, and the
local diagnostics that answered anyone.
"""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.conftest import LocalApi

pytestmark = pytest.mark.e2e
COURSE = {"title": "Hostile", "category": "security", "level": "beginner", "price": 1}


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"[" * 20_000, "application/json"),
        (b'{"a":' * 12_000, "application/json"),
        (json.dumps(COURSE).encode("utf-16"), "application/json"),
        (json.dumps(COURSE).encode("utf-32"), "application/json"),
        ('{"title": "Caf\u00e9", "category": "x", "level": "beginner", "price": 1}'.encode("latin-1"),
         "application/json"),
        (json.dumps(COURSE).encode(), "application/jsonx"),
        (json.dumps(COURSE).encode(), "application/json-seq"),
        (json.dumps(COURSE).encode(), "text/plain"),
        (b"title=x", "application/x-www-form-urlencoded"),
    ],
    ids=["arrays", "objects", "utf-16", "utf-32", "latin-1", "jsonx", "json-seq", "text", "form"],
)
def test_malformed_bodies_get_a_4xx_problem(api: httpx.Client, local_api: LocalApi, content: bytes,
                                            content_type: str) -> None:
    headers = {**local_api.auth("hostile-instructor", "instructors"), "Content-Type": content_type}
    for method, path in (("POST", "/courses"), ("PATCH", "/courses/c-1")):
        response = api.request(method, path, content=content, headers={**headers, "If-Match": '"1"'})
        assert 400 <= response.status_code < 500, (method, response.status_code, response.text[:300])
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == response.status_code


@pytest.mark.parametrize("path", ["/__local/status", "/__local/threads"])
def test_local_diagnostics_need_an_admin_token(api: httpx.Client, local_api: LocalApi, path: str) -> None:
    assert api.get(path).status_code == 401
    assert api.get(path, headers=local_api.auth("someone", "instructors")).status_code == 403
    assert api.get(path, headers=local_api.auth("operator", "admins")).status_code == 200
