"""The local gateway reads the template's CORS preflight and gateway-response headers as AWS would apply them."""

from __future__ import annotations

import pytest

from local.apigw import api_settings
from local.template import load_template


@pytest.fixture
def origins(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    listed = ["http://localhost:3000", "https://app.example.com"]
    monkeypatch.setenv("ALLOWED_ORIGINS", ",".join(listed))
    return listed


def test_preflight_echoes_each_listed_origin_and_names_no_other(origins: list[str]) -> None:
    cors = api_settings(load_template()).cors
    assert cors is not None
    for origin in origins:
        headers = dict(cors.preflight_headers(origin))
        assert headers["Access-Control-Allow-Origin"] == origin
        assert "PATCH" in headers["Access-Control-Allow-Methods"]
        assert "Idempotency-Key" in headers["Access-Control-Allow-Headers"]
        assert headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Origin" not in dict(cors.preflight_headers("https://evil.example.net"))
    assert "Access-Control-Allow-Origin" not in dict(cors.preflight_headers(None))


def test_gateway_responses_copy_the_request_origin_and_keep_their_own_status() -> None:
    responses = api_settings(load_template()).responses
    unauthorized = responses["UNAUTHORIZED"]
    assert unauthorized.status == 401
    headers = dict(unauthorized.headers_for([("origin", "https://app.example.com")]))
    assert headers["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert headers["WWW-Authenticate"] == "Bearer"
    assert "Access-Control-Allow-Origin" not in dict(unauthorized.headers_for([]))
    assert responses["REQUEST_TOO_LARGE"].status == 413
    assert responses["THROTTLED"].status == 429
