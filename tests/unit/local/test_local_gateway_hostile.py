"""The local gateway under hostile input: every answer is problem+json, diagnostics are admin-only."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from local.apigw import ApiSettings
from local.auth import AuthorizerSpec, LocalAuth
from local.functions import FunctionPool
from local.server import GatewayConfig, LocalGateway, create_app
from local.specs import ApiRoute, FunctionSpec

AUTH = LocalAuth.generate()
PROBLEM = "application/problem+json"
HANDLER = '''
def lambda_handler(event, context):
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}
'''
MODEL = {"type": "object", "additionalProperties": False,
         "properties": {"name": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}}}}


@pytest.fixture
def gateway(tmp_path: Path) -> LocalGateway:
    folder = tmp_path / "functions" / "echo"
    folder.mkdir(parents=True)
    (folder / "app.py").write_text(textwrap.dedent(HANDLER))
    spec = FunctionSpec(logical_id="EchoFunction", code_dir=folder, handler="app.lambda_handler", timeout_s=1,
                        memory_mb=256)
    routes = [ApiRoute("EchoFunction", "/items", "POST", AuthorizerSpec("CognitoAuthorizer", "cognito"), None, "Item")]
    return LocalGateway({"EchoFunction": FunctionPool(spec, max_containers=1)}, routes,
                        GatewayConfig(auth=AUTH, api=ApiSettings(models={"Item": MODEL})))


def client_from(gateway: LocalGateway, host: str = "127.0.0.1") -> TestClient:
    app = create_app(gateway, lambda: {"openapi": "3.1.0", "paths": {}}, lambda: {"streams": []})
    return TestClient(app, client=(host, 50000), raise_server_exceptions=False)


def auth(*groups: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {AUTH.mint('alice', list(groups))}"}


def assert_problem(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == status


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 20_000,
        b'{"name": ' + b"[" * 20_000,
        b'{"tags": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
        '{"name": "Café"}'.encode("utf-16"),
        '{"name": "Café"}'.encode("utf-32"),
        '{"name": "Café"}'.encode("latin-1"),
    ],
    ids=["20k-arrays", "20k-unclosed", "5k-well-formed", "utf-16", "utf-32", "latin-1"],
)
def test_bodies_the_request_model_cannot_read_are_400(gateway: LocalGateway, body: bytes) -> None:
    response = client_from(gateway).post("/items", content=body, headers={**auth(), "Content-Type": "application/json"})
    assert_problem(response, 400)


def test_a_failure_of_the_gateway_itself_is_problem_json(
    gateway: LocalGateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(request: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(gateway, "handle", broken)
    assert_problem(client_from(gateway).get("/items"), 500)


def test_unknown_documentation_assets_are_problem_json(gateway: LocalGateway) -> None:
    assert_problem(client_from(gateway).get("/docs/../../etc/passwd"), 404)
    assert_problem(client_from(gateway).get("/docs/other.js"), 404)


@pytest.mark.parametrize("path", ["/__local/status", "/__local/threads"])
def test_local_diagnostics_need_a_loopback_admin(gateway: LocalGateway, path: str) -> None:
    remote = client_from(gateway, host="192.0.2.10")
    assert_problem(remote.get(path, headers=auth("admins")), 404)
    local = client_from(gateway)
    missing = local.get(path)
    assert_problem(missing, 401)
    assert missing.headers["www-authenticate"] == "Bearer"
    assert_problem(local.get(path, headers={"Authorization": "Bearer forged"}), 401)
    assert_problem(local.get(path, headers=auth("instructors")), 403)
    allowed = local.get(path, headers=auth("admins"))
    assert allowed.status_code == 200
    assert "Traceback" not in allowed.text
