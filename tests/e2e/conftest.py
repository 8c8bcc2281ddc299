"""Start the local API (``python -m local run``) once per session and talk to it over HTTP.

The server runs as a separate process, exactly as ``make run`` starts it, against the
session's moto server (so a test can also write to DynamoDB behind the API's back, as
another service would) and the session's ElastiCache stand-in (under its own key prefix).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from local.redis_server import ElastiCacheStandIn
from tests.support.elasticache import E2E_KEY_PREFIX
from tests.support.services import LocalAuth, MotoEndpoint, dynamodb_client, free_port

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REPO_ROOT = Path(__file__).resolve().parents[2]
SEED_COURSES = 40
STARTUP_TIMEOUT_S = 90


@dataclass(frozen=True)
class LocalApi:
    """The running server: its URL, its DynamoDB endpoint and its stand-in pool (the key it made)."""

    url: str
    dynamodb_endpoint: str
    pool: LocalAuth

    def token(self, sub: str, *groups: str, ttl_s: int = 3600) -> str:
        return self.pool.mint(sub, list(groups), ttl_s=ttl_s)

    def auth(self, sub: str, *groups: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(sub, *groups)}"}


def _environment(port: int, endpoint: str, standin: ElastiCacheStandIn, key_file: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_TABLE") and not k.startswith("REDIS_") and k != "PORT"}
    env.update(
        PORT=str(port),
        DYNAMODB_ENDPOINT=endpoint,
        SEED_COURSES=str(SEED_COURSES),
        LOCAL_AUTH_KEY_FILE=str(key_file),  # the server writes the key pair it makes here
        CACHE_KEY_PREFIX=E2E_KEY_PREFIX,
        PYTHONUNBUFFERED="1",
    )
    env.update(standin.environment())  # the session's ElastiCache stand-in: its audit covers the e2e run
    return env


@contextlib.contextmanager
def running_local_api(environment: dict[str, str], log_path: Path) -> Iterator[str]:
    """``python -m local run`` with ``environment`` (PORT in it) until the block ends; its URL."""
    url = f"http://127.0.0.1:{environment['PORT']}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local", "run", "--quiet"],
            cwd=REPO_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while True:
                if process.poll() is not None:
                    pytest.fail(f"the local API exited with {process.returncode}:\n{log_path.read_text()}")
                try:
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail(f"the local API did not start in {STARTUP_TIMEOUT_S} s:\n{log_path.read_text()}")
                time.sleep(0.25)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def local_api(
    moto_endpoint: MotoEndpoint, redis_server: ElastiCacheStandIn, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalApi]:
    folder = tmp_path_factory.mktemp("local-api")
    log_path, key_file = folder / "server.log", folder / "auth-key.pem"
    with running_local_api(_environment(free_port(), moto_endpoint.url, redis_server, key_file), log_path) as url:
        yield LocalApi(url=url, dynamodb_endpoint=moto_endpoint.url, pool=LocalAuth.load(key_file))


@pytest.fixture
def api(local_api: LocalApi) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=local_api.url, timeout=15) as client:
        yield client


@pytest.fixture
def ddb(local_api: LocalApi) -> DynamoDBClient:
    """A DynamoDB client on the server's endpoint, for writes made behind the API's back."""
    return dynamodb_client(local_api.dynamodb_endpoint)


def local_status(api: httpx.Client, local_api: LocalApi) -> dict[str, Any]:
    """The local server's diagnostics (loopback callers with an admins token only)."""
    response = api.get("/__local/status", headers=local_api.auth("e2e-operator", "admins"))
    assert response.status_code == 200, response.text
    status: dict[str, Any] = response.json()
    return status


def drain_streams(api: httpx.Client, local_api: LocalApi) -> dict[str, Any]:
    """Have the local server deliver every stream record written so far, its windows closed.

    It answers once its pollers have caught up (the counter's writes included), so a test
    reads what the deployed stack shows once its streams settle, without waiting on a clock.
    """
    response = api.post("/__local/streams/drain", headers=local_api.auth("e2e-operator", "admins"), timeout=120)
    assert response.status_code == 200, response.text
    status: dict[str, Any] = response.json()
    return status


@pytest.fixture
def new_course(api: httpx.Client, local_api: LocalApi) -> Callable[..., dict[str, Any]]:
    """Create a course through the API as ``owner`` and return its body."""

    def create(owner: str = "e2e-instructor", **fields: Any) -> dict[str, Any]:
        body = {"title": "End-to-end testing", "description": "Made by the e2e suite.", "category": "devops",
                "level": "intermediate", "price": 19.99, "tags": ["testing"], "status": "published", **fields}
        response = api.post("/courses", json=body, headers=local_api.auth(owner, "instructors"))
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        # The create's stream record invalidates asynchronously; let it land so reads that
        # follow see a settled cache (as they would a moment later in AWS).
        drain_streams(api, local_api)
        return created

    return create
