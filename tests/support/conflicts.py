"""A DynamoDB front that reports transaction conflicts the way DynamoDB does, in front of moto.

moto runs one request at a time and never reports a conflict, so no test behind it can see
what a student gets when two writes meet on one item. DynamoDB's rules, from "Transaction
conflict handling" in
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html
(read 2026-12-03):

- a ``TransactWriteItems`` whose item is part of another ongoing ``TransactWriteItems`` is
  cancelled: ``TransactionCanceledException``, with the reason ``TransactionConflict`` for
  that item's action (``None`` for the others);
- a ``PutItem``, ``UpdateItem`` or ``DeleteItem`` of an item in an ongoing
  ``TransactWriteItems`` is rejected with ``TransactionConflictException``;
- ``TransactWriteItems`` is idempotent under a ``ClientRequestToken``: a repeat within
  10 minutes of a committed request succeeds without writing again.

How long DynamoDB keeps a transaction's items is not published, so the front takes it as
a parameter: every committed transaction holds its items for ``hold_s`` after it commits.
Or, given ``rho`` and ``shares``, the hold follows the load: ``rho`` is the per-item load
(per-item rate x hold) a design that spread the observed enrollment rate over ``shares``
items would meet, so the hold is ``rho x shares / rate``, the rate being the writes
seen on ``rate_table`` (alone or in a transaction) over the last second (how issue-style launch replays scale it).
It also serialises the requests it forwards (moto is not thread-safe; DynamoDB is
linearizable), as the local server's ``SerializedApp`` does for moto in process, which a
front over HTTP cannot use. Every other request passes through unchanged.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3

from tests.support.services import FAKE_CREDENTIALS, LOCAL_REGION, free_port

TARGET_PREFIX = "DynamoDB_20120810."
ITEM_WRITES = {"PutItem", "UpdateItem", "DeleteItem"}
TOKEN_TTL_S = 600.0
JSON_TYPE = "application/x-amz-json-1.0"


@dataclass
class ConflictFront:
    """A threaded HTTP server forwarding to ``upstream`` (moto), holding committed transactions' items."""

    upstream: str
    hold_s: float = 0.0
    rho: float | None = None
    shares: int = 32
    rate_table: str = ""
    holds: list[float] = field(default_factory=list)  # the hold of each committed transaction
    peak_rate: int = 0  # most writes seen on rate_table within one second
    _writes: list[float] = field(default_factory=list)  # times of item writes on rate_table
    counts: Counter[str] = field(default_factory=Counter)  # what the front answered, by kind
    _held: dict[tuple[str, str], float] = field(default_factory=dict)  # (table, key) -> held until
    _tokens: dict[str, tuple[float, bytes]] = field(default_factory=dict)
    _keys: dict[str, list[str]] = field(default_factory=dict)  # table -> key attribute names
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "the front has not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> ConflictFront:
        front = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status, headers, answer = front.handle(dict(self.headers.items()), body)
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="conflict-front", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # ----- the rules

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """One request: refused as DynamoDB would, replayed from a token, or forwarded (serialised)."""
        operation = headers.get("X-Amz-Target", "").removeprefix(TARGET_PREFIX)
        request: dict[str, Any] = json.loads(body or b"{}") if operation else {}
        with self._lock:
            now = time.monotonic()
            self._held = {ref: until for ref, until in self._held.items() if until > now}
            self._note_rate(operation, request, now)
            if operation == "TransactWriteItems":
                return self._transaction(headers, body, request, now)
            if operation in ITEM_WRITES and self._ref(request["TableName"], request) in self._held:
                self.counts["TransactionConflictException"] += 1
                return self._error("TransactionConflictException",
                                   "Transaction is ongoing for the item")
            return self._forward(headers, body)

    def _transaction(
        self, headers: dict[str, str], body: bytes, request: dict[str, Any], now: float
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        token = request.get("ClientRequestToken")
        self._tokens = {t: v for t, v in self._tokens.items() if now - v[0] < TOKEN_TTL_S}
        if isinstance(token, str) and token in self._tokens:
            self.counts["replayed"] += 1
            return 200, [("Content-Type", JSON_TYPE)], self._tokens[token][1]
        refs = [self._ref(*self._action(action)) for action in request.get("TransactItems", [])]
        if any(ref in self._held for ref in refs):
            self.counts["TransactionConflict"] += 1
            reasons = [{"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
                       if ref in self._held else {"Code": "None"} for ref in refs]
            codes = ", ".join(reason["Code"] for reason in reasons)
            return self._error("TransactionCanceledException",
                               f"Transaction cancelled, please refer cancellation reasons for specific reasons "
                               f"[{codes}]", CancellationReasons=reasons)
        status, answer_headers, answer = self._forward(headers, body)
        if status == 200:
            self.counts["committed"] += 1
            hold = self.current_hold(now)
            self.holds.append(hold)
            # The hold runs from the commit, not from the request's arrival: on a slow upstream a hold
            # counted from arrival would expire before the answer, and nothing would ever conflict
            self._held.update(dict.fromkeys(refs, time.monotonic() + hold))
            if isinstance(token, str):
                self._tokens[token] = (now, answer)
        return status, answer_headers, answer

    def _note_rate(self, operation: str, request: dict[str, Any], now: float) -> None:
        """Count the writes of ``rate_table``, alone or as a transaction's actions."""
        if operation == "TransactWriteItems":
            tables = [self._action(action)[0] for action in request.get("TransactItems", [])]
        else:
            tables = [str(request.get("TableName"))] if operation in ITEM_WRITES else []
        hits = sum(1 for table in tables if table == self.rate_table)
        if hits:
            self._writes = [t for t in self._writes if now - t < 1.0] + [now] * hits
            self.peak_rate = max(self.peak_rate, len(self._writes))

    def current_hold(self, now: float) -> float:
        """The fixed hold, or the one that puts a ``shares``-way spread of the observed rate at ``rho``."""
        if self.rho is None:
            return self.hold_s
        recent = [t for t in self._writes if now - t < 1.0]
        return self.rho * self.shares / len(recent) if recent else self.hold_s

    @staticmethod
    def _action(action: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        ((_, request),) = action.items()
        return str(request["TableName"]), request

    def _ref(self, table: str, request: dict[str, Any]) -> tuple[str, str]:
        """The item a write names: its table and its key (from ``Key``, or a Put's ``Item``)."""
        key = request.get("Key") or {name: request["Item"][name] for name in self._key_names(table)}
        return table, json.dumps(key, sort_keys=True)

    def _key_names(self, table: str) -> list[str]:
        if table not in self._keys:
            client: Any = boto3.client(
                "dynamodb", endpoint_url=self.upstream, region_name=LOCAL_REGION,
                aws_access_key_id=FAKE_CREDENTIALS["aws_access_key_id"],
                aws_secret_access_key=FAKE_CREDENTIALS["aws_secret_access_key"],
            )
            schema = client.describe_table(TableName=table)["Table"]["KeySchema"]
            self._keys[table] = [str(part["AttributeName"]) for part in schema]
        return self._keys[table]

    def _forward(self, headers: dict[str, str], body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        forwarded = {k: v for k, v in headers.items() if k.lower() not in {"host", "content-length", "connection"}}
        request = urllib.request.Request(self.upstream + "/", data=body, headers=forwarded, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, [("Content-Type", response.headers.get("Content-Type", JSON_TYPE))], \
                    response.read()
        except urllib.error.HTTPError as error:
            return error.code, [("Content-Type", error.headers.get("Content-Type", JSON_TYPE))], error.read()

    @staticmethod
    def _error(code: str, message: str, **extra: Any) -> tuple[int, list[tuple[str, str]], bytes]:
        """A DynamoDB error answer (HTTP 400, ``__type`` naming the exception)."""
        body = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message, **extra}
        return 400, [("Content-Type", JSON_TYPE)], json.dumps(body).encode()
