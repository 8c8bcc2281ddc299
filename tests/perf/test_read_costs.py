"""Read costs per request kind, asserted exactly: a change that adds a read fails here.

A small deterministic trace (the benchmark's data generator and request mix, on a small
catalogue) goes through the real handlers of the four read functions, against moto over
HTTP and a real redis-server, on one virtual clock (``benchmarks.virtual_time``, 100
requests/s), twice: a cold pass that fills the cache and a warm pass of the same requests.
For each request kind and pass it counts DynamoDB calls per operation, computed read units
(DynamoDB's sizing rules, ``benchmarks.metering``) and Redis round trips (redis-py
packets sent, a pipeline or an ``MGET`` being one). Read units, calls and round trips do not
depend on the machine, so the figures are compared for equality with ``read_costs.json``.

After a change that moves a figure on purpose: ``make bench-baseline`` rewrites the file;
commit it with the change that moved it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import redis.connection

from benchmarks.dataset import DatasetSpec, generate, seed
from benchmarks.virtual_time import VirtualClock, driving
from benchmarks.workload import KINDS, Workload, WorkloadSpec, fresh
from courses_api.data.capacity import CapacityMeter
from local.invoke import new_context
from tests.support.functions import load_function

BASELINE = Path(__file__).with_name("read_costs.json")
UPDATE = os.environ.get("READ_COSTS_UPDATE") == "1"
FUNCTIONS = ("get_course", "list_courses", "list_instructor_courses", "list_my_enrollments")
SPEC = DatasetSpec(courses=120, enrollments=300, users=80, instructors=12, categories=6, seed=5)
REQUESTS = 240
RPS = 100.0


# What a client sends to set up a connection or learn the cluster's layout, once per container
# and connection, not per request (and what a health check sends): not counted.
SET_UP = frozenset({b"HELLO", b"CLIENT", b"AUTH", b"SELECT", b"CLUSTER", b"COMMAND", b"READONLY", b"PING"})


class RoundTrips:
    """Counts what redis-py sends for requests: one ``send_packed_command`` is one request on the wire."""

    def __init__(self) -> None:
        self.count = 0


def command_name(packed: Any) -> bytes:
    """The first command's name in a packed RESP request (``*N``, ``$len``, ``NAME``, ...)."""
    chunks = [packed] if isinstance(packed, bytes | bytearray | memoryview) else list(packed)[:3]
    head = b"".join(bytes(chunk) for chunk in chunks)[:256].split(b"\r\n")
    return head[2].upper() if len(head) > 2 else b""


@pytest.fixture
def round_trips(monkeypatch: pytest.MonkeyPatch) -> RoundTrips:
    counter = RoundTrips()
    original = redis.connection.AbstractConnection.send_packed_command

    def counted(self: Any, command: Any, check_health: bool = True) -> None:
        if command_name(command) not in SET_UP:
            counter.count += 1
        original(self, command, check_health)  # type: ignore[no-untyped-call]

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counted)
    return counter


@pytest.fixture
def handlers(
    tables: dict[str, str], dynamodb: Any, with_redis: Any, redis_server: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[dict[str, Any], Any]]:
    # The guard counts calls, not time. The production timeouts (50 ms to Redis, 2 s to
    # DynamoDB) are wall-clock decisions: on a loaded machine one Redis reply past 50 ms
    # turns a hit into a bypass, and a DynamoDB retry counts a call twice. Here no reply
    # may time out, so the figures depend on the code alone.
    monkeypatch.setenv("REDIS_SOCKET_TIMEOUT_MS", "5000")
    monkeypatch.setenv("REDIS_CONNECT_TIMEOUT_MS", "5000")
    monkeypatch.setenv("DYNAMODB_READ_TIMEOUT_S", "20")
    monkeypatch.setenv("DYNAMODB_CONNECT_TIMEOUT_S", "10")
    data = generate(SPEC)
    seed(dynamodb, tables, data)
    # Each run starts as a new cache would: no entry another test left (a list generation, a lease, a
    # negative entry moves the cold pass's misses), and its first EVALSHA misses
    redis_server.flush()
    for node in redis_server.live_nodes():
        redis_server.node_client(node).script_flush()
    clock = VirtualClock()
    with driving(clock):
        yield {name: load_function(name) for name in FUNCTIONS}, (data, clock)


def measure(handlers: dict[str, Any], data: Any, clock: VirtualClock, trips: RoundTrips) -> dict[str, Any]:
    """``{pass: {kind: figures}}`` for a cold then a warm pass of the same requests."""
    plan = Workload(data, WorkloadSpec()).plan(REQUESTS, salt=9)
    figures: dict[str, Any] = {}
    for number, name in enumerate(("cold", "warm")):
        by_kind: dict[str, dict[str, Any]] = {
            kind: {"requests": 0, "dynamodb_calls": {}, "read_units": 0.0, "redis_round_trips": 0, "outcomes": {}}
            for kind in KINDS
        }
        for index, request in enumerate(plan):
            clock.at((number * len(plan) + index) / RPS)
            CapacityMeter.begin_request()
            before = trips.count
            response = handlers[request.function].lambda_handler(fresh(request.event), new_context(request.function))
            assert response["statusCode"] == 200, response
            cost = CapacityMeter.current()
            row = by_kind[request.kind]
            row["requests"] += 1
            row["redis_round_trips"] += trips.count - before
            row["read_units"] += cost.computed_rcu if cost else 0.0
            for operation, calls in (cost.calls if cost else {}).items():
                row["dynamodb_calls"][operation] = row["dynamodb_calls"].get(operation, 0) + calls
            headers = response.get("headers") or {}
            outcome = headers.get("X-Cache") or (response.get("multiValueHeaders") or {}).get("X-Cache", ["none"])[-1]
            row["outcomes"][outcome] = row["outcomes"].get(outcome, 0) + 1
        for row in by_kind.values():
            row["read_units"] = round(row["read_units"], 4)
            row["dynamodb_calls"] = dict(sorted(row["dynamodb_calls"].items()))
            row["outcomes"] = dict(sorted(row["outcomes"].items()))
        figures[name] = by_kind
    return figures


def moved(expected: dict[str, Any], actual: dict[str, Any], path: str = "") -> list[str]:
    """Each figure that differs, as ``pass.kind.figure: expected -> actual``."""
    lines: list[str] = []
    for key in sorted(set(expected) | set(actual)):
        where = f"{path}.{key}" if path else key
        old, new = expected.get(key), actual.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            lines.extend(moved(old, new, where))
        elif old != new:
            lines.append(f"{where}: {old} -> {new}")
    return lines


def test_read_costs_per_request_kind_match_the_baseline(
    handlers: tuple[dict[str, Any], Any], round_trips: RoundTrips, capsys: pytest.CaptureFixture[str]
) -> None:
    functions, (data, clock) = handlers
    figures = measure(functions, data, clock, round_trips)
    capsys.readouterr()  # the functions' metric lines
    if UPDATE:
        BASELINE.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    expected = json.loads(BASELINE.read_text(encoding="utf-8"))
    changes = moved(expected, figures)
    assert not changes, (
        "read costs moved (if on purpose, run `make bench-baseline` and commit tests/perf/read_costs.json):\n  "
        + "\n  ".join(changes)
    )


def test_a_warm_pass_never_reads_dynamodb_for_an_item(
    handlers: tuple[dict[str, Any], Any], round_trips: RoundTrips, capsys: pytest.CaptureFixture[str]
) -> None:
    """The rule behind the figures, independent of the baseline: a cached course costs no read."""
    functions, (data, clock) = handlers
    warm = measure(functions, data, clock, round_trips)["warm"]
    capsys.readouterr()
    assert warm["item"]["dynamodb_calls"] == {}
    assert warm["item"]["read_units"] == 0
    assert warm["item"]["outcomes"] == {"HIT": warm["item"]["requests"]}


def test_one_extra_read_per_request_is_reported_with_the_figure_it_moved(
    handlers: tuple[dict[str, Any], Any],
    round_trips: RoundTrips,
    tables: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given GET /courses/{id} changed to read its row once more on every request, hit or miss
    functions, (data, clock) = handlers
    module = functions["get_course"]
    original = module.lambda_handler

    def one_more_read(event: dict[str, Any], context: Any) -> Any:
        response = original(event, context)
        course_id = event["pathParameters"]["course_id"]
        module.container.dynamodb.get_item(TableName=tables["COURSES_TABLE"], Key={"course_id": {"S": course_id}})
        return response

    module.lambda_handler = one_more_read
    # When the trace runs, then the comparison names the calls and read units it moved, on both passes
    changes = moved(json.loads(BASELINE.read_text(encoding="utf-8")), measure(functions, data, clock, round_trips))
    capsys.readouterr()
    assert any(line.startswith("warm.item.dynamodb_calls.GetItem: None -> ") for line in changes), changes
    assert any(line.startswith("warm.item.read_units: 0.0 -> ") for line in changes), changes
    assert any(line.startswith("cold.item.dynamodb_calls.GetItem: 23 -> ") for line in changes), changes
    assert not any(".list." in line or ".me." in line for line in changes), changes
