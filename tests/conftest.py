"""Fixtures shared by every test: moto over HTTP, tables from template.yaml, a real Redis.

Nothing here is a fake: DynamoDB is moto's server on a loopback port (its tables created
from ``template.yaml``), Redis is a real ``redis-server`` (the local one on 6379 when it
answers, else one started for the session).
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

# Powertools reads POWERTOOLS_* when its singletons are built (at import), so the
# environment is set before anything from the layer is imported.
from tests.support.functions import IN_PROCESS_ENVIRONMENT  # imports nothing of the layer

# A fresh cursor key per session: no valid key is ever written in the repository.
BASE_ENVIRONMENT = {
    **IN_PROCESS_ENVIRONMENT, "CURSOR_SECRET": secrets.token_urlsafe(32), "CACHE_KEY_PREFIX": "courses-test",
}
os.environ.update(BASE_ENVIRONMENT)

import botocore.client  # noqa: E402
import pytest  # noqa: E402
import redis  # noqa: E402

from tests.support.events import load_event as _load_event  # noqa: E402
from tests.support.functions import load_function  # noqa: E402
from tests.support.services import (  # noqa: E402
    LocalRedis,
    MotoEndpoint,
    create_tables,
    delete_tables,
    dynamodb_client,
    ensure_redis,
    start_moto,
    start_redis_server,
    use_fake_aws_credentials,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TEST_REDIS_DB = 15
_table_counter = itertools.count()


@pytest.fixture(scope="session", autouse=True)
def _fake_aws_credentials() -> None:
    use_fake_aws_credentials()


@pytest.fixture(autouse=True)
def no_scans(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[list[str]]:
    """Fail any test whose code issues a DynamoDB Scan (the product never scans)."""
    scans: list[str] = []
    original = vars(botocore.client.BaseClient)["_make_api_call"]

    def guarded(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        if operation_name == "Scan" and self.meta.service_model.service_name == "dynamodb":
            scans.append(api_params.get("TableName", "?"))
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", guarded)
    yield scans
    if "allow_scan" not in request.keywords:
        assert not scans, f"a DynamoDB Scan was issued on {scans}"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[MotoEndpoint]:
    endpoint = start_moto()
    yield endpoint
    endpoint.stop()


@pytest.fixture
def tables(moto_endpoint: MotoEndpoint, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Fresh tables (from template.yaml) for one test; their names are put in the environment."""
    prefix = f"t{next(_table_counter)}-"
    names = create_tables(moto_endpoint.url, prefix=prefix)
    for key, value in names.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("DYNAMODB_ENDPOINT", moto_endpoint.url)
    yield names
    delete_tables(moto_endpoint.url, names)


@pytest.fixture
def dynamodb(moto_endpoint: MotoEndpoint) -> DynamoDBClient:
    """A plain client on moto, for arranging and inspecting data."""
    return dynamodb_client(moto_endpoint.url)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[LocalRedis]:
    """A real redis-server of this session's own, so tests can flush it without touching
    anyone's data and parallel sessions cannot interfere; without the binary, the one at
    127.0.0.1:6379 (database 15) is used when it answers."""
    try:
        server: LocalRedis | None = start_redis_server()
    except (FileNotFoundError, RuntimeError):
        server = ensure_redis(f"redis://127.0.0.1:6379/{TEST_REDIS_DB}")
    if server is None:
        pytest.fail("no Redis reachable and redis-server could not be started (make test installs it)")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: LocalRedis) -> str:
    return redis_server.url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def with_redis(redis_url: str, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch) -> redis.Redis:
    """Functions loaded after this fixture use the real Redis tier."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    return redis_client


@pytest.fixture
def without_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    """Functions loaded after this fixture have no Redis tier (every read is a BYPASS)."""
    monkeypatch.setenv("REDIS_URL", "")


@pytest.fixture
def load_event() -> Callable[..., dict[str, Any]]:
    return _load_event


@pytest.fixture
def function() -> Callable[[str], ModuleType]:
    """Load ``functions/<name>/app.py`` as a new container (call after the env is set)."""
    return load_function
