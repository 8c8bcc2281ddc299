"""The JWKS custom resource answers CloudFormation on every path, with keys the functions can use.

CloudFormation's custom-resource protocol ("Custom resources", AWS CloudFormation User Guide):
the provider receives Create, Update and Delete requests and must send its response (``Status``
SUCCESS or FAILED, ``PhysicalResourceId``, ``StackId``, ``RequestId``, ``LogicalResourceId``,
``Data``, a ``Reason`` on failure) to the pre-signed ``ResponseURL`` with an HTTP PUT; a
provider that never answers leaves the stack waiting until the request times out. Here the
JWKS endpoint and the response URL are an HTTPS server of the test's own (a CA made for the
run, which the process's default TLS contexts are made to trust), so the function runs its
real network code.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

import pytest

from courses_api import tokens
from local.auth import LocalAuth
from local.redis_server import generate_certificates
from tests.support.functions import context_for, load_function

POOL, SECOND_KEY = LocalAuth.generate(), LocalAuth.generate()


def _jwks_document() -> bytes:
    """Two RSA signing keys (as Cognito publishes), plus what a verifier must not take: an EC key
    and an encryption key, and private members (none should reach the functions)."""
    keys = [json.loads(POOL.jwks)["keys"][0], json.loads(SECOND_KEY.jwks)["keys"][0]]
    keys[0]["x5c"] = ["not-needed"]
    keys.append({"kty": "EC", "kid": "ec-1", "crv": "P-256", "x": "AA", "y": "AA", "use": "sig"})
    keys.append({**keys[1], "kid": "enc-1", "use": "enc"})
    return json.dumps({"keys": keys}).encode()


@dataclass
class Endpoint:
    """The JWKS documents served and the responses CloudFormation would have received."""

    url: str
    documents: dict[str, bytes] = field(default_factory=dict)
    responses: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Endpoint]:
    """One HTTPS server for the module, with a CA of its own."""
    certificates = generate_certificates(str(tmp_path_factory.mktemp("jwks-tls")))  # as make run's stand-in
    state = Endpoint(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = state.documents.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def do_PUT(self) -> None:
            state.responses.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificates.cert_file, certificates.key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    state.url = f"https://127.0.0.1:{server.server_address[1]}"
    state.documents["/pool/.well-known/jwks.json"] = _jwks_document()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    original = ssl.create_default_context

    def trusting_the_test_ca(purpose: ssl.Purpose = ssl.Purpose.SERVER_AUTH, **_: Any) -> ssl.SSLContext:
        return original(purpose, cafile=certificates.ca_file)

    with pytest.MonkeyPatch.context() as patch:
        # The default contexts the function's HTTPS calls make (urllib's, crhelper's) trust the test CA.
        patch.setattr(ssl, "create_default_context", trusting_the_test_ca)
        patch.setattr(ssl, "_create_default_https_context", trusting_the_test_ca)
        try:
            yield state
        finally:
            server.shutdown()
            server.server_close()


@pytest.fixture
def endpoint(server: Endpoint) -> Endpoint:
    server.responses.clear()
    return server


@pytest.fixture
def resource(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    return load_function("jwks_resource")


def _request(endpoint: Endpoint, kind: str, url: str, **extra: Any) -> dict[str, Any]:
    return {
        "RequestType": kind, "ResponseURL": f"{endpoint.url}/cfn-response",
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/courses-api-dev/1a2b3c",
        "RequestId": f"request-{kind}", "LogicalResourceId": "UserPoolJwks", "ResourceType": "Custom::UserPoolJwks",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:jwks",
                               "JwksUrl": url, "Refresh": "20261203T120000Z"},
        **extra,
    }


def _answer(resource: ModuleType, endpoint: Endpoint, event: dict[str, Any]) -> dict[str, Any]:
    """Invoke the handler and return the one response it sent CloudFormation."""
    before = len(endpoint.responses)
    resource.lambda_handler(event, context_for(resource))
    sent = endpoint.responses[before:]
    assert len(sent) == 1, sent
    answer = sent[0]
    assert (answer["StackId"], answer["RequestId"], answer["LogicalResourceId"]) == (
        event["StackId"], event["RequestId"], event["LogicalResourceId"])
    return answer


def test_create_and_update_return_the_signing_keys_the_functions_verify_with(
    resource: ModuleType, endpoint: Endpoint
) -> None:
    url = f"{endpoint.url}/pool/.well-known/jwks.json"
    created = _answer(resource, endpoint, _request(endpoint, "Create", url))
    assert created["Status"] == "SUCCESS", created
    assert created["PhysicalResourceId"] == url
    jwks = created["Data"]["Jwks"]
    kept = json.loads(jwks)["keys"]
    assert [key["kid"] for key in kept] == [POOL.kid, SECOND_KEY.kid]
    assert all(set(key) <= {"alg", "e", "kid", "kty", "n", "use"} for key in kept)
    assert len(jwks.encode()) <= resource.MAX_JWKS_BYTES
    # The functions accept a token of either key with it, and nothing else.
    for pool in (POOL, SECOND_KEY):
        assert tokens.verify(pool.mint("alice"), jwks, pool.issuer, pool.audience)["sub"] == "alice"
    with pytest.raises(tokens.TokenRejected):
        tokens.verify(LocalAuth.generate().mint("mallory"), jwks, POOL.issuer, POOL.audience)
    updated = _answer(resource, endpoint, _request(endpoint, "Update", url, PhysicalResourceId=url))
    assert updated["Status"] == "SUCCESS"
    assert updated["PhysicalResourceId"] == url, "an update keeps the resource (no replacement, no Delete)"
    assert updated["Data"]["Jwks"] == jwks


def test_delete_answers_success_at_once(resource: ModuleType, endpoint: Endpoint) -> None:
    url = f"{endpoint.url}/gone/.well-known/jwks.json"  # even when the pool is gone already
    deleted = _answer(resource, endpoint, _request(endpoint, "Delete", url, PhysicalResourceId=url))
    assert deleted["Status"] == "SUCCESS"
    assert deleted["PhysicalResourceId"] == url


@pytest.mark.parametrize(
    ("path", "document", "reason"),
    [
        ("/missing/.well-known/jwks.json", None, "404"),
        ("/broken/.well-known/jwks.json", b"<html>not json</html>", "Expecting value"),
        ("/empty/.well-known/jwks.json", b'{"keys": []}', "no RSA signing key"),
        ("/huge/.well-known/jwks.json", json.dumps({"keys": [
            {"kty": "RSA", "kid": f"k{i}", "n": "x" * 342, "e": "AQAB", "use": "sig"} for i in range(5)]}).encode(),
         "over 1536"),
    ],
    ids=["not-found", "not-json", "no-keys", "too-big-for-the-environment"],
)
def test_a_failed_fetch_answers_failed_with_the_reason(
    resource: ModuleType, endpoint: Endpoint, path: str, document: bytes | None, reason: str
) -> None:
    if document is not None:
        endpoint.documents[path] = document
    for kind in ("Create", "Update"):
        answer = _answer(resource, endpoint, _request(endpoint, kind, endpoint.url + path))
        assert answer["Status"] == "FAILED"
        assert reason in answer["Reason"]


def test_keys_are_fetched_over_https_only(resource: ModuleType, endpoint: Endpoint) -> None:
    answer = _answer(resource, endpoint, _request(endpoint, "Create", "http://127.0.0.1:1/.well-known/jwks.json"))
    assert answer["Status"] == "FAILED"
    assert "HTTPS" in answer["Reason"]
