"""moto's server on loopback, with the DynamoDB tables of ``template.yaml``.

Tests, ``make run`` and the benchmarks all create their tables here, from the same
template that is deployed, so their schemas cannot drift.
"""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from local.template import LOCAL_REGION, resources_of_type

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

FAKE_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

# Table logical id in template.yaml → the settings field that carries its name.
TABLE_ENV = {
    "CoursesTable": "COURSES_TABLE",
    "EnrollmentsTable": "ENROLLMENTS_TABLE",
    "IdempotencyTable": "IDEMPOTENCY_TABLE",
}


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def use_fake_aws_credentials() -> None:
    """Make boto3 sign with throwaway credentials, so no real account is ever touched."""
    os.environ["AWS_ACCESS_KEY_ID"] = FAKE_CREDENTIALS["aws_access_key_id"]
    os.environ["AWS_SECRET_ACCESS_KEY"] = FAKE_CREDENTIALS["aws_secret_access_key"]
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.setdefault("AWS_REGION", LOCAL_REGION)
    os.environ.setdefault("AWS_DEFAULT_REGION", LOCAL_REGION)


@dataclass
class MotoEndpoint:
    """A running moto server; ``url`` is what ``DYNAMODB_ENDPOINT`` is set to."""

    server: ThreadedMotoServer
    url: str

    def stop(self) -> None:
        self.server.stop()


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerializedApp:
    """A WSGI app that runs the wrapped one (response body included) under a lock.

    moto's DynamoDB backend is not thread-safe: a conditional write checks and writes in
    two steps, and a cancelled TransactWriteItems restores a deep copy of every table,
    wiping out writes other requests committed meanwhile. Real DynamoDB is linearizable,
    so one lock around moto gives its guarantee back; clients still run concurrently.

    It also gives back what moto leaves out of TransactWriteItems: a ``ClientRequestToken``
    seen before (within DynamoDB's 10 minutes) is answered with the first success, so an SDK
    retry of a committed transaction is a success, as on DynamoDB, not a condition failure.
    """

    TRANSACT_WRITE = "DynamoDB_20120810.TransactWriteItems"
    TOKEN_TTL_S = 600.0

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.lock = threading.Lock()
        self._committed: dict[str, tuple[float, str, list[tuple[str, str]], list[bytes]]] = {}

    def _token(self, environ: dict[str, Any]) -> str | None:
        """The ClientRequestToken of a TransactWriteItems request (the body is put back)."""
        if environ.get("HTTP_X_AMZ_TARGET") != self.TRANSACT_WRITE:
            return None
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            token = json.loads(body or b"{}").get("ClientRequestToken")
        except ValueError:
            return None
        return token if isinstance(token, str) else None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self.lock:
            token = self._token(environ)
            now = time.monotonic()
            self._committed = {k: v for k, v in self._committed.items() if now - v[0] < self.TOKEN_TTL_S}
            if token is not None and token in self._committed:
                _, status, headers, body = self._committed[token]
                start_response(status, headers)
                return body
            seen: dict[str, Any] = {}

            def recording_start_response(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
                seen.update(status=status, headers=headers)
                return start_response(status, headers, *args)

            body = list(self.app(environ, recording_start_response))
            if token is not None and str(seen.get("status", "")).startswith("200"):
                self._committed[token] = (now, seen["status"], seen["headers"], body)
            return body


def serialize_requests(endpoint: MotoEndpoint) -> None:
    """Make a running moto server handle one request at a time (idempotent)."""
    server = endpoint.server._server  # werkzeug's server: its ``app`` is read per request
    assert server is not None, "moto has not started"
    if not isinstance(server.app, SerializedApp):
        server.app = SerializedApp(server.app)


def start_moto(*, port: int | None = None, serialized: bool = False) -> MotoEndpoint:
    """Start moto's threaded server on 127.0.0.1 and a free port (never 0.0.0.0)."""
    use_fake_aws_credentials()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    port = port or free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = MotoEndpoint(server=server, url=f"http://127.0.0.1:{port}")
    if serialized:
        serialize_requests(endpoint)
    return endpoint


def dynamodb_client(endpoint_url: str) -> DynamoDBClient:
    """A low-level DynamoDB client for the local endpoint."""
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name=LOCAL_REGION,
        config=Config(retries={"mode": "standard", "max_attempts": 3}),
        aws_access_key_id=FAKE_CREDENTIALS["aws_access_key_id"],
        aws_secret_access_key=FAKE_CREDENTIALS["aws_secret_access_key"],
    )


def _table_name(logical_id: str, prefix: str) -> str:
    return f"{prefix}{logical_id.removesuffix('Table')}"


def _create_table_kwargs(logical_id: str, props: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Translate a template table into ``CreateTable`` arguments (on-demand, streams kept)."""
    kwargs: dict[str, Any] = {
        "TableName": _table_name(logical_id, prefix),
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = [
            {
                "IndexName": gsi["IndexName"],
                "KeySchema": gsi["KeySchema"],
                "Projection": gsi["Projection"],
            }
            for gsi in props["GlobalSecondaryIndexes"]
        ]
    stream = props.get("StreamSpecification")
    if stream:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return kwargs


def create_tables(endpoint_url: str, prefix: str = "") -> dict[str, str]:
    """Create every DynamoDB table of the template; returns settings field → table name.

    Also sets those names in ``os.environ`` so handlers started afterwards find them.
    """
    client = dynamodb_client(endpoint_url)
    existing = set(client.list_tables()["TableNames"])
    names: dict[str, str] = {}
    for logical_id, resource in resources_of_type("AWS::DynamoDB::Table").items():
        props = resource["Properties"]
        kwargs = _create_table_kwargs(logical_id, props, prefix)
        if kwargs["TableName"] not in existing:
            client.create_table(**kwargs)
            ttl = props.get("TimeToLiveSpecification")
            if ttl and ttl.get("Enabled") is True:
                client.update_time_to_live(
                    TableName=kwargs["TableName"],
                    TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
                )
        env_name = TABLE_ENV.get(logical_id, f"{logical_id.upper()}_NAME")
        names[env_name] = kwargs["TableName"]
    os.environ.update(names)
    os.environ["DYNAMODB_ENDPOINT"] = endpoint_url
    return names


def delete_tables(endpoint_url: str, table_names: dict[str, str]) -> None:
    """Drop the tables made by :func:`create_tables` (tests use one set per test)."""
    client = dynamodb_client(endpoint_url)
    for name in table_names.values():
        client.delete_table(TableName=name)
