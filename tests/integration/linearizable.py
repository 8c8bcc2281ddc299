"""Make the session's moto server handle one request at a time, as DynamoDB is linearizable.

moto's DynamoDB backend is not thread-safe: a conditional write checks and writes in two
steps, and TransactWriteItems deep-copies every table and restores that copy when it is
cancelled, wiping out writes other requests committed meanwhile. Real DynamoDB serializes
conflicting writes (and cancels conflicting transactions), so concurrency tests would fail
on moto's races, not ours. One lock around moto's WSGI app gives DynamoDB's guarantee back;
the clients and our code still run truly concurrently.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from local.aws import MotoEndpoint

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SerializedApp:
    """A WSGI app that runs the wrapped one (response body included) under a lock."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self.lock:
            return list(self.app(environ, start_response))


def serialize(endpoint: MotoEndpoint) -> None:
    """Wrap the running server's app once (idempotent)."""
    server = endpoint.server._server  # werkzeug's server: its ``app`` is read per request
    assert server is not None, "moto has not started"
    if not isinstance(server.app, SerializedApp):
        server.app = SerializedApp(server.app)
