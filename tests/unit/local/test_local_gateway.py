"""The gateway's own answers (404/405/413/401/400/502/504) and a round trip through a real handler file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from local.apigw import ApiSettings, Cors, GatewayResponse
from local.auth import AuthorizerSpec, LocalAuth
from local.functions import FunctionPool
from local.server import GatewayConfig, LocalGateway, create_app
from local.specs import ApiRoute, FunctionSpec

AUTH = LocalAuth.generate()
HANDLER = '''
import json, time

def lambda_handler(event, context):
    body = event.get("body") or ""
    if body == "crash":
        raise RuntimeError("boom")
    if body == "malformed":
        return {"status": 200}
    if body == "slow":
        time.sleep(2)
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"X-Seen": ["a", "b"]},
        "body": json.dumps({"event": event, "function": context.function_name,
                            "remaining": context.get_remaining_time_in_millis()}),
    }
'''


@pytest.fixture
def client(tmp_path: Path) -> TestClient:
    folder = tmp_path / "functions" / "echo"
    folder.mkdir(parents=True)
    (folder / "app.py").write_text(textwrap.dedent(HANDLER))
    spec = FunctionSpec(logical_id="EchoFunction", code_dir=folder, handler="app.lambda_handler", timeout_s=1,
                        memory_mb=256)
    routes = [
        ApiRoute("EchoFunction", "/items", "GET", None),
        ApiRoute("EchoFunction", "/items", "POST", AuthorizerSpec("CognitoAuthorizer", "cognito"), None, "Item"),
        ApiRoute("EchoFunction", "/items/{item_id}", "GET", None),
        ApiRoute("MissingFunction", "/missing", "GET", None),
    ]
    api = ApiSettings(
        stage="dev",
        cors=Cors(allow_origin="http://localhost:3000", allow_methods="GET,POST", allow_headers="Authorization"),
        models={"Item": {"type": "object", "additionalProperties": False, "properties": {"name": {"type": "string"}}}},
        responses={"UNAUTHORIZED": GatewayResponse(status=None, headers=(("WWW-Authenticate", "Bearer"),),
                                                   template='{"title":"Unauthorized","status":401}')},
    )
    gateway = LocalGateway({"EchoFunction": FunctionPool(spec, max_containers=2)}, routes,
                           GatewayConfig(auth=AUTH, api=api, max_body_bytes=1024))
    return TestClient(create_app(gateway, lambda: {"openapi": "3.1.0", "paths": {}}))


def _token(groups: list[str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {AUTH.mint('alice', groups or [])}"}


def test_requests_reach_the_handler_as_proxy_events(client: TestClient) -> None:
    response = client.get("/items?a=1&a=2", headers={"X-Test": "yes"})
    assert response.status_code == 200
    payload = response.json()
    event = payload["event"]
    assert event["resource"] == "/items"
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"]}
    assert event["headers"]["X-Test"] == "yes"
    assert event["requestContext"]["stage"] == "dev"
    assert "authorizer" not in event["requestContext"]
    assert payload["function"] == "EchoFunction"
    assert 0 < payload["remaining"] <= 1000
    assert response.headers.get_list("x-seen") == ["a", "b"]
    assert response.headers["x-amzn-requestid"] == event["requestContext"]["requestId"]


def test_unknown_routes_get_404_problem_json(client: TestClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_wrong_methods_get_405_with_allow(client: TestClient) -> None:
    response = client.delete("/items")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"
    assert response.json()["status"] == 405


def test_cors_preflight_is_answered_by_the_gateway(client: TestClient) -> None:
    response = client.options("/items")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"


def test_missing_and_bad_tokens_get_the_templates_401(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}):
        response = client.post("/items", json={"name": "x"}, headers=headers)
        assert response.status_code == 401
        assert response.json() == {"title": "Unauthorized", "status": 401}
        assert response.headers["www-authenticate"] == "Bearer"


def test_cognito_claims_reach_the_handler(client: TestClient) -> None:
    response = client.post("/items", json={"name": "x"}, headers=_token(["instructors"]))
    assert response.status_code == 200
    claims = response.json()["event"]["requestContext"]["authorizer"]["claims"]
    assert claims["sub"] == "alice"
    assert claims["cognito:groups"] == "[instructors]"


def test_routes_without_an_authorizer_pass_the_token_to_the_function(client: TestClient) -> None:
    """API Gateway runs no authorizer there: the event has no ``authorizer``, and the token, even
    a bad one, reaches the function in its ``Authorization`` header (the function verifies it)."""
    anonymous = client.get("/items/42").json()["event"]
    assert anonymous["pathParameters"] == {"item_id": "42"}
    assert "authorizer" not in anonymous["requestContext"]
    signed = client.get("/items/42", headers={"Authorization": "Bearer not.a.jwt"}).json()["event"]
    assert "authorizer" not in signed["requestContext"]
    assert {k.lower(): v for k, v in signed["headers"].items()}["authorization"] == "Bearer not.a.jwt"


def test_bodies_failing_the_request_model_get_400(client: TestClient) -> None:
    response = client.post("/items", json={"name": 5}, headers=_token())
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "name" in response.json()["detail"]
    malformed = client.post("/items", content=b"{not json", headers={**_token(), "Content-Type": "application/json"})
    assert malformed.status_code == 400


def test_bodies_over_the_limit_get_413(client: TestClient) -> None:
    response = client.post("/items", content=b"x" * 2048, headers=_token())
    assert response.status_code == 413
    assert response.json()["status"] == 413


def test_handler_crashes_and_malformed_responses_are_502(client: TestClient) -> None:
    for body in ("crash", "malformed"):
        response = client.post("/items", content=body.encode(), headers={**_token(), "Content-Type": "text/plain"})
        assert response.status_code == 502
        assert response.headers["content-type"] == "application/problem+json"


def test_handlers_over_their_timeout_are_504(client: TestClient) -> None:
    response = client.post("/items", content=b"slow", headers={**_token(), "Content-Type": "text/plain"})
    assert response.status_code == 504


def test_routes_without_a_handler_file_are_502(client: TestClient) -> None:
    assert client.get("/missing").status_code == 502


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    assert client.get("/openapi.json").json()["openapi"] == "3.1.0"
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "/docs/swagger-ui-bundle.js" in docs.text
    assert client.get("/docs/swagger-ui-bundle.js").status_code == 200
    assert client.get("/docs/other.js").status_code == 404


def test_each_container_has_its_own_module_state(tmp_path: Path) -> None:
    folder = tmp_path / "functions" / "counter"
    folder.mkdir(parents=True)
    (folder / "app.py").write_text("import os, time, uuid\nCONTAINER = uuid.uuid4().hex\n"
                                   "def lambda_handler(event, context):\n"
                                   "    time.sleep(0.3)\n"
                                   "    return {'statusCode': 200, 'body': CONTAINER + os.environ['GREETING']}\n")
    spec = FunctionSpec("CounterFunction", folder, "app.lambda_handler", 3, 128, environment=(("GREETING", "hi"),))
    pool = FunctionPool(spec, max_containers=2)
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(4) as executor:
        bodies = {r["body"] for r in executor.map(lambda _: pool.invoke({}), range(4))}
    pool.close()
    assert pool.containers == 2  # concurrent requests scaled out, but not past the limit
    assert len(bodies) == 2  # ...and each container kept its own module globals
    assert all(body.endswith("hi") for body in bodies)  # with the function's own environment
