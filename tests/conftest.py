"""Fixtures shared by every test: moto over HTTP, tables from template.yaml, a real Redis.

Nothing here is a fake: DynamoDB is moto's server on a loopback port (its tables created
from ``template.yaml``), Redis is the session's ElastiCache stand-in (real redis-server
nodes: a TLS cluster with the cache user of ``template.yaml``'s access string). At the end
of the session every command the stand-in was sent is audited (``tests.support.elasticache``):
a denied command or key, or one ElastiCache Serverless does not support, fails the run.
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
from tests.support.services import TEST_AUTH  # imports nothing of the layer

# A fresh cursor key per session: no valid key is ever written in the repository. The
# functions that verify tokens get the session pool's JWKS, issuer and app client (only
# they read them: the others take the Cognito authorizer's claims).
BASE_ENVIRONMENT = {
    **IN_PROCESS_ENVIRONMENT, "CURSOR_SECRET": secrets.token_urlsafe(32), "CACHE_KEY_PREFIX": "courses-test",
    **TEST_AUTH.environment(),
}
os.environ.update(BASE_ENVIRONMENT)

import botocore.client  # noqa: E402
import pytest  # noqa: E402

from benchmarks import metering  # noqa: E402
from local.redis_server import ElastiCacheStandIn  # noqa: E402
from tests.support.elasticache import SESSION_AUDIT, checkpoint, start_session_standin  # noqa: E402
from tests.support.events import load_event as _load_event  # noqa: E402
from tests.support.functions import load_function  # noqa: E402
from tests.support.services import (  # noqa: E402
    MotoEndpoint,
    create_tables,
    delete_tables,
    dynamodb_client,
    start_moto,
    use_fake_aws_credentials,
)

# moto's ConsumedCapacity is a fixed fake: every container meters by DynamoDB's sizing rules.
metering.install()

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

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
def redis_server() -> Iterator[ElastiCacheStandIn]:
    """The session's ElastiCache stand-in (its own processes: tests may flush it).

    Its connection settings other than ``REDIS_URL`` (cluster mode, the cache user and its
    password, the CA) go into the environment for the whole session, so a function a test
    points at it with ``REDIS_URL`` alone connects as it would in AWS.
    """
    try:
        standin = start_session_standin()
    except (FileNotFoundError, RuntimeError) as error:
        pytest.fail(f"the ElastiCache stand-in did not start ({error}); make test installs redis-server")
    os.environ.update({name: value for name, value in standin.environment().items() if name != "REDIS_URL"})
    yield standin
    checkpoint(standin)
    standin.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: ElastiCacheStandIn) -> str:
    return redis_server.url


@pytest.fixture
def redis_client(redis_server: ElastiCacheStandIn) -> Iterator[Any]:
    """The harness's admin client (a ``RedisCluster``) on an empty stand-in, for arranging
    and inspecting keys; the product's own client is ``tests.support.elasticache.product_client``."""
    redis_server.flush()
    client = redis_server.admin_client()
    yield client
    redis_server.flush()
    client.close()


@pytest.fixture
def with_redis(redis_url: str, redis_client: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Functions loaded after this fixture use the real Redis tier (the stand-in)."""
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


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the stand-in audit; any denied or unsupported command fails the session."""
    if not SESSION_AUDIT.commands and not SESSION_AUDIT.denied:
        return
    terminalreporter.section("ElastiCache stand-in audit")
    terminalreporter.write_line(SESSION_AUDIT.summary())
    problems = SESSION_AUDIT.problems()
    for problem in problems:
        terminalreporter.write_line(f"FAIL {problem}", red=True)
    if problems:
        terminalreporter.write_line("the session fails: the code sent what ElastiCache would refuse", red=True)
    if not problems:
        terminalreporter.write_line("no denied command or key, no command unsupported by ElastiCache Serverless")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if SESSION_AUDIT.problems() and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
