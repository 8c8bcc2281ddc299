"""``make bench-writes``: a partition-level capacity model of a course launch, before and after.

    python -m benchmarks.writes              # the default launch, seeds 14, 15 and 16 (a few minutes each)
    python -m benchmarks.writes --quick      # a few hundred requests, one seed (the smoke test uses it)

The workload: one course takes ``--launch-rate`` enrollments a second (10,000) for
``--duration-s`` (60 s) while the rest of the catalogue takes ``--background-rate`` (50,000)
spread by a Zipf law. Replaying 3.6 million requests through moto is out of reach, so a
sample is replayed (``--launch-samples`` of the launch, ``--background-samples`` of the
rest), each request on a logical clock (a time drawn uniformly in the window) and weighted
by how many real requests it stands for (e.g. 600,000 / 4,000 = 150): every figure below
is the weighted sum, so rates are those of the full launch. The background is steady: its
courses start the minute with the enrollments of the minute before at their rates (so a
popular course is wide already), and in the per-second figures a background sample's
writes are spread over the window; the launch course starts with none, and its samples
count in the second they fall in, so a launch's first seconds show as they happen.

Each sampled request goes through the real write path: ``EnrollmentService.enroll`` with the
pre-shard repository (``benchmarks.writes_legacy``, "before") or the product's, the launch
course left to the automatic width rule ("unannounced") or declared a launch by its owner's
``PATCH`` beforehand, the documented way ("after"), against moto, with tables created from
``template.yaml`` (the "before" tables with the old projections and ``ByCourse`` key). A
recorder wraps the repository's DynamoDB client: for each write it reads every named item
before and after, and derives the item writes DynamoDB performs — the base item, and for
each global secondary index the index entry put, updated or deleted (two writes when the
index key changes) — each with its partition key and write units. A sample stands for
``weight`` students: what is keyed by the course takes all of them, what is keyed by the
student only the sample's, and a wide roster's entries go evenly to the course's partitions,
where those students' ids hash.

The model's only assumptions are DynamoDB's documented rules and limits:
- a partition serves at most 1,000 write units a second, whatever the table's capacity;
- a write unit is 1 KB of item (rounded up, per item, the larger of the old and new image);
  a transactional write costs 2 units per KB; an index entry costs 1 unit per KB of the
  projected entry (index keys, table keys, projected attributes), since transactions
  propagate to indexes after they commit;
- an item in an ongoing transaction makes a concurrent transaction on it fail with
  ``TransactionConflict``. How long an item stays in a transaction is not published: the
  conflicts are given for hold times of 1, 5 and 20 ms (``--hold-ms`` is the headline),
  as the expected number of transactions arriving while another holds one of their items
  (Poisson arrivals at the item's rate: rate*(1-exp(-rate*hold)) a second).
Left out: adaptive capacity and split-for-heat (DynamoDB may split a hot partition by sort
key, never a single item's writes), on-demand tables' scaling history (a new table starts
at 4,000 WCU/s and doubles from its previous peak), retries caused by throttling or
conflicts (they add load), and cancelled transactions' capacity.

It writes ``benchmarks/results/writes.json`` (the first seed in full, every seed's headline
figures under ``spread``) and the writes section of ``docs/BENCHMARKS.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import secrets
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

REPO_ROOT = Path(__file__).resolve().parent.parent
LAYER = REPO_ROOT / "layers" / "shared"
for _path in (str(LAYER), str(REPO_ROOT)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from local.invoke import IN_PROCESS_ENVIRONMENT  # noqa: E402 - only yaml, no layer import

for _key, _value in {**IN_PROCESS_ENVIRONMENT, "CURSOR_SECRET": secrets.token_urlsafe(32)}.items():  # fresh per run
    os.environ.setdefault(_key, _value)

import boto3  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402
from moto import mock_aws  # noqa: E402
from tqdm import tqdm  # noqa: E402

from benchmarks import moto_transactions  # noqa: E402
from benchmarks.dataset import DatasetSpec, generate, zipf_weights  # noqa: E402
from benchmarks.metering import item_size  # noqa: E402
from benchmarks.writes_legacy import SingleCounterEnrollments, legacy_table_properties  # noqa: E402
from courses_api.container import Container  # noqa: E402
from courses_api.data.dynamo import batch_write, to_attributes  # noqa: E402
from courses_api.data.enrollment_counts import CountWriter, Reconciler  # noqa: E402
from courses_api.data.enrollments import (  # noqa: E402
    BY_COURSE,
    ROSTER_SHARDS,
    SHARD_SEPARATOR,
    EnrollmentRepository,
    roster_partition,
    shard_of,
)
from courses_api.domain.auth import INSTRUCTORS, Caller  # noqa: E402
from courses_api.domain.enrollment_counting import EnrollmentCounter  # noqa: E402
from courses_api.domain.enrollment_lists import EnrollmentLists  # noqa: E402
from courses_api.domain.enrollments import EnrollmentService  # noqa: E402
from courses_api.models import CoursePatch  # noqa: E402
from courses_api.settings import Settings  # noqa: E402
from local.aws import _create_table_kwargs, use_fake_aws_credentials  # noqa: E402
from local.template import LOCAL_REGION, resources_of_type  # noqa: E402

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RESULTS = REPO_ROOT / "benchmarks" / "results" / "writes.json"
PARTITION_WCU_PER_S = 1000
WRITE_UNIT_BYTES = 1024
TRANSACTIONAL_FACTOR = 2
HOLD_MS_CHOICES = (1.0, 5.0, 20.0)
TABLES = {"CoursesTable": "Courses", "EnrollmentsTable": "Enrollments"}


def dynamodb_client() -> Any:
    """A DynamoDB client of the in-process moto."""
    return boto3.client("dynamodb", region_name=LOCAL_REGION)


def write_units(size_bytes: int) -> int:
    """Write units of one item write: 1 per started KB, at least 1."""
    return max(1, math.ceil(size_bytes / WRITE_UNIT_BYTES))


# ------------------------------------------------------------------ schema of the tables


@dataclass(frozen=True)
class IndexSpec:
    name: str
    hash_key: str
    range_key: str | None
    projection: str  # KEYS_ONLY | INCLUDE | ALL
    included: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    label: str
    hash_key: str
    range_key: str | None
    indexes: tuple[IndexSpec, ...]

    def key_of(self, item: Mapping[str, Any]) -> dict[str, Any]:
        names = [self.hash_key] + ([self.range_key] if self.range_key else [])
        return {name: item[name] for name in names}


def _keys(schema: Sequence[Mapping[str, str]]) -> tuple[str, str | None]:
    hash_key = next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")
    range_key = next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None)
    return hash_key, range_key


def table_spec(label: str, props: Mapping[str, Any]) -> TableSpec:
    hash_key, range_key = _keys(props["KeySchema"])
    indexes = []
    for index in props.get("GlobalSecondaryIndexes", []):
        index_hash, index_range = _keys(index["KeySchema"])
        projection = index["Projection"]
        indexes.append(IndexSpec(index["IndexName"], index_hash, index_range, projection["ProjectionType"],
                                 tuple(projection.get("NonKeyAttributes", ()))))
    return TableSpec(label, hash_key, range_key, tuple(indexes))


# ------------------------------------------------------------------ recording item writes


@dataclass(frozen=True)
class ItemWrite:
    """One write DynamoDB performs: where (table or index, partition key) and its units."""

    target: str
    partition: str
    wcu: int


def _text(value: Mapping[str, Any]) -> str:
    (_, inner), = value.items()
    return str(inner)


def index_entry(table: TableSpec, index: IndexSpec, image: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The index's entry for an item image (wire form), or None when the item is not in it (sparse)."""
    if not image or index.hash_key not in image or (index.range_key and index.range_key not in image):
        return None
    names = {index.hash_key, table.hash_key} | {n for n in (index.range_key, table.range_key) if n}
    if index.projection == "ALL":
        names |= set(image)
    elif index.projection == "INCLUDE":
        names |= set(index.included)
    return {name: image[name] for name in names if name in image}


def item_writes(table: TableSpec, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None,
                *, transactional: bool) -> list[ItemWrite]:
    """The writes one changed item causes: the base item, then each index's entry."""
    if old == new:
        return []
    factor = TRANSACTIONAL_FACTOR if transactional else 1
    image = new or old or {}
    base_size = max(item_size(dict(old or {})), item_size(dict(new or {})))
    writes = [ItemWrite(f"{table.label} (table)", _text(image[table.hash_key]), factor * write_units(base_size))]
    for index in table.indexes:
        target = f"{table.label}.{index.name}"
        before, after = index_entry(table, index, old), index_entry(table, index, new)
        if before == after:
            continue
        if before and after and before[index.hash_key] == after[index.hash_key] and (
                not index.range_key or before[index.range_key] == after[index.range_key]):
            size = max(item_size(before), item_size(after))
            writes.append(ItemWrite(target, _text(after[index.hash_key]), write_units(size)))
            continue
        for entry in (before, after):  # key changed: the old entry is deleted, the new one put
            if entry:
                writes.append(ItemWrite(target, _text(entry[index.hash_key]), write_units(item_size(entry))))
    return writes


def read_item(table_name: str, table: TableSpec, key: Mapping[str, Any]) -> dict[str, Any] | None:
    """An item as moto holds it now (wire form), read from the in-process backend."""
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType

    stored = dynamodb_backends[DEFAULT_ACCOUNT_ID][LOCAL_REGION].get_table(table_name)
    range_value = DynamoType(key[table.range_key]) if table.range_key else None
    item = stored.get_item(DynamoType(key[table.hash_key]), range_value)
    return dict(item.to_json()["Attributes"]) if item is not None else None


class RecordingClient:
    """Wraps a DynamoDB client; records the item writes of each TransactWriteItems that commits.

    Item images are read from moto's backend directly (``read_item``), so the recording
    neither changes what the write path sees nor costs a request.
    """

    def __init__(self, client: Any, reader: Callable[[str, TableSpec, dict[str, Any]], dict[str, Any] | None],
                 tables: Mapping[str, TableSpec]) -> None:
        self._client = client
        self._reader = reader
        self._tables = tables
        self.writes: list[ItemWrite] = []
        self.transaction_items: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def take(self) -> tuple[list[ItemWrite], list[str]]:
        writes, items = self.writes, self.transaction_items
        self.writes, self.transaction_items = [], []
        return writes, items

    def _images(self, targets: Sequence[tuple[str, dict[str, Any]]]) -> dict[tuple[str, str], dict[str, Any]]:
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for table_name, key in targets:
            image = self._reader(table_name, self._tables[table_name], key)
            if image is not None:
                found[(table_name, json.dumps(key, sort_keys=True))] = image
        return found

    def put_item(self, **kwargs: Any) -> Any:
        """A conditional Put (the enrollment): its item and index writes, not transactional."""
        spec = self._tables[kwargs["TableName"]]
        key = spec.key_of(kwargs["Item"])
        before = self._images([(kwargs["TableName"], key)])
        response = self._client.put_item(**kwargs)  # a refused condition raises: nothing was written
        after = self._images([(kwargs["TableName"], key)])
        ref = (kwargs["TableName"], json.dumps(key, sort_keys=True))
        self.writes += item_writes(spec, before.get(ref), after.get(ref), transactional=False)
        return response

    def transact_write_items(self, **kwargs: Any) -> Any:
        targets = []
        for action in kwargs["TransactItems"]:
            (operation, request), = action.items()
            table = self._tables[request["TableName"]]
            key = table.key_of(request["Item"]) if operation == "Put" else dict(request["Key"])
            targets.append((request["TableName"], key))
        before = self._images(targets)
        response = self._client.transact_write_items(**kwargs)  # a cancellation raises: nothing was written
        after = self._images(targets)
        for table_name, key in targets:
            spec = self._tables[table_name]
            ref = (table_name, json.dumps(key, sort_keys=True))
            self.writes += item_writes(spec, before.get(ref), after.get(ref), transactional=True)
            self.transaction_items.append(f"{spec.label} {_text(key[spec.hash_key])}")
        return response


# ------------------------------------------------------------------ workload


@dataclass(frozen=True)
class Request:
    at_s: float
    user_id: str
    course_id: str
    weight: float
    launch: bool


def sampled_user(rng: random.Random) -> str:
    """A sampled student's id, drawn outside roster shard 0, so that a ``ByCourse`` write to
    ``#00`` is a narrow roster's and any other partition a wide one's (see :func:`spread_writes`)."""
    while True:
        user = f"u{rng.getrandbits(64):016x}"
        if shard_of(user) != 0:
            return user


def workload(args: argparse.Namespace, launch_course: str, catalogue: Sequence[str]) -> list[Request]:
    """Sampled launch and background requests on the logical clock, each with its weight."""
    rng = random.Random(args.seed)
    duration = args.duration_s
    launch_weight = args.launch_rate * duration / args.launch_samples
    background_weight = args.background_rate * duration / args.background_samples
    requests = [Request(rng.uniform(0, duration), sampled_user(rng), launch_course, launch_weight, True)
                for _ in range(args.launch_samples)]
    picks = rng.choices(catalogue, weights=zipf_weights(len(catalogue), args.zipf_s), k=args.background_samples)
    requests += [Request(rng.uniform(0, duration), sampled_user(rng), course, background_weight, False)
                 for course in picks]
    return sorted(requests, key=lambda r: r.at_s)


# ------------------------------------------------------------------ one design


@dataclass
class DesignResult:
    partition_wcu: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))
    second_wcu: dict[tuple[str, str, int], float] = field(default_factory=lambda: defaultdict(float))  # the launch's
    steady_wcu: dict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))  # background, per s
    item_transactions: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    transactions: float = 0.0
    write_units: float = 0.0  # every write of every enrollment (each its own user's too), weighted
    replay_s: float = 0.0
    errors: int = 0

    def summary(self, duration_s: float, hold_ms: float, launch_course: str) -> dict[str, Any]:
        rates = {key: wcu / duration_s for key, wcu in self.partition_wcu.items()}
        ranked = sorted(rates.items(), key=lambda kv: kv[1], reverse=True)
        (target, partition), busiest = ranked[0]
        per_target: dict[str, tuple[str, float]] = {}
        for (t, p), rate in ranked:
            per_target.setdefault(t, (p, rate))
        conflicts = {f"{ms:g}": round(self._conflicts(duration_s, ms)) for ms in sorted({*HOLD_MS_CHOICES, hold_ms})}
        shown = launch_course
        seconds = self._peak_seconds()
        (peak_target, peak_partition, peak_second), peak = max(seconds.items(), key=lambda kv: kv[1])
        return {
            "busiest_partition_second_wcu": round(peak),
            "busiest_second": f"{peak_target} partition {peak_partition!r}, second {peak_second}".replace(
                shown, "<launch course>"),
            "max_partition_wcu_per_s": round(busiest),
            "busiest": f"{target} partition {partition!r}".replace(shown, "<launch course>"),
            "over_limit_partitions": sum(1 for _, rate in ranked if rate > PARTITION_WCU_PER_S),
            "transaction_conflicts": conflicts[f"{hold_ms:g}"],
            "transaction_conflicts_by_hold_ms": conflicts,
            "transactions": round(self.transactions),
            "busiest_item_transactions_per_s": round(max(self.item_transactions.values(), default=0) / duration_s),
            "write_units_per_enrollment": round(self.write_units / self.transactions, 2) if self.transactions else 0.0,
            "busiest_by_target": {t: {"partition": p.replace(shown, "<launch course>"), "wcu_per_s": round(r)}
                                  for t, (p, r) in sorted(per_target.items())},
            "busiest_second_by_target": self._busiest_seconds(seconds, shown),
            "total_wcu_per_s": round(sum(rates.values())),
            "replay_seconds": round(self.replay_s, 1),
            "errors": self.errors,
        }

    def _peak_seconds(self) -> dict[tuple[str, str, int], float]:
        """Each partition's busiest second: the launch's writes in that second plus the steady background."""
        peaks: dict[tuple[str, str], tuple[int, float]] = {}
        for (target, partition, second), wcu in self.second_wcu.items():
            if wcu > peaks.get((target, partition), (0, -1.0))[1]:
                peaks[(target, partition)] = (second, wcu)
        seconds: dict[tuple[str, str, int], float] = {}
        for key in set(peaks) | set(self.steady_wcu):
            second, wcu = peaks.get(key, (0, 0.0))
            seconds[(*key, second)] = wcu + self.steady_wcu.get(key, 0.0)
        return seconds

    @staticmethod
    def _busiest_seconds(seconds: Mapping[tuple[str, str, int], float], launch_course: str
                         ) -> dict[str, dict[str, Any]]:
        """Each table's and index's busiest partition-second: the partition, the second, its write units."""
        busiest: dict[str, tuple[str, int, float]] = {}
        for (target, partition, second), wcu in seconds.items():
            if target not in busiest or wcu > busiest[target][2]:
                busiest[target] = (partition, second, wcu)
        return {t: {"partition": p.replace(launch_course, "<launch course>"), "second": s, "wcu": round(w)}
                for t, (p, s, w) in sorted(busiest.items())}

    def _conflicts(self, duration_s: float, hold_ms: float) -> float:
        hold_s = hold_ms / 1000
        total = 0.0
        for count in self.item_transactions.values():
            rate = count / duration_s
            total += rate * (1 - math.exp(-rate * hold_s)) * duration_s
        return total


class CountsShown:
    """What the enrollment counter shows on course rows during the replay: each course's
    enrollments (weighted) as of ``delay_s`` earlier, written every second of the logical clock.

    The counter writes a course early once its window holds ``WIDE_AT`` records, so a
    course's count, and the roster width enrolling reads from it, follow its enrollments
    about a batch (under a second) plus the Courses stream's invalidation behind.
    """

    def __init__(self, client: Any, courses_table: str, start: Mapping[str, int], delay_s: float = 1.0) -> None:
        self._client = client
        self._table = courses_table
        self._delay_s = delay_s
        self._history: list[tuple[float, str, float]] = []
        self._shown: dict[str, float] = defaultdict(float, start)
        self._next_tick = 1.0

    def enrolled(self, at_s: float, course_id: str, weight: float) -> None:
        self._history.append((at_s, course_id, weight))

    def tick(self, now_s: float) -> None:
        while now_s >= self._next_tick:
            cutoff = self._next_tick - self._delay_s
            changed = set()
            while self._history and self._history[0][0] <= cutoff:
                _, course_id, weight = self._history.pop(0)
                self._shown[course_id] += weight
                changed.add(course_id)
            for course_id in changed:
                self._client.update_item(
                    TableName=self._table, Key={"course_id": {"S": course_id}},
                    UpdateExpression="SET enrollment_count = :n",
                    ExpressionAttributeValues={":n": {"N": str(round(self._shown[course_id]))}})
            self._next_tick += 1.0


def spread_writes(writes: Iterable[ItemWrite], request: Request) -> Iterator[tuple[str, str, float]]:
    """Where the ``weight`` requests a sample stands for write, and how much: ``(target, partition, units)``.

    What is keyed by the user (their enrollment row and its partition) is a different item
    for each of them: the sample's own. What is keyed by the course (its row, a narrow
    roster's ``#00``) takes all of them. A wide roster's entries go where each of those
    students' ids hash: evenly over the course's ``ROSTER_SHARDS`` partitions, in expectation
    (the sampled user's partition alone would pile ``weight`` students on one of them).
    """
    for write in writes:
        course, separator, shard = write.partition.rpartition(SHARD_SEPARATOR)
        if request.user_id in write.partition:
            yield write.target, write.partition, float(write.wcu)
        elif write.target.endswith(f".{BY_COURSE}") and separator and shard != f"{0:02d}":
            for spread in range(ROSTER_SHARDS):
                yield write.target, roster_partition(course, spread), write.wcu * request.weight / ROSTER_SHARDS
        else:
            yield write.target, write.partition, write.wcu * request.weight


def replay(service: EnrollmentService, recorder: RecordingClient, requests: Iterable[Request],
           label: str, counts: CountsShown | None = None, *, duration_s: float) -> DesignResult:
    result = DesignResult()
    started = time.perf_counter()
    for request in tqdm(list(requests), desc=label, unit="req", leave=False, mininterval=1.0):
        if counts is not None:
            counts.tick(request.at_s)
        try:
            outcome = service.enroll(Caller(request.user_id), request.course_id)
        except ClientError:
            result.errors += 1
            recorder.take()
            continue
        writes, items = recorder.take()
        if not outcome.created:
            continue
        result.transactions += request.weight
        result.write_units += sum(write.wcu for write in writes) * request.weight
        if counts is not None:
            counts.enrolled(request.at_s, request.course_id, request.weight)
        # A sample stands for ``weight`` requests of other users on the same course: what is keyed
        # by the course (its row, shards, index partitions) takes all of them, what is keyed by
        # the user (their enrollment row and its partition) is a different item for each.
        for target, partition, wcu in spread_writes(writes, request):
            result.partition_wcu[(target, partition)] += wcu
            if request.launch:
                result.second_wcu[(target, partition, int(request.at_s))] += wcu
            else:  # the background is steady: a sample stands for requests spread over the whole window
                result.steady_wcu[(target, partition)] += wcu / duration_s
        for item in items:
            result.item_transactions[item] += 1.0 if request.user_id in item else request.weight
    result.replay_s = time.perf_counter() - started
    return result


def count_through_the_counter(client: Any, courses_table: str, enrollments_table: str,
                              keys: Sequence[Mapping[str, Any]]) -> None:
    """Run the product's enrollment counter over the launch course's INSERT records, as one window.

    The records are those the Enrollments stream holds for the rows (``keys``, read back from
    ``ByCourse``; moto's in-process mock serves no DynamoDB Streams API), in two batches, the
    second invoked twice with the same state (a retried invocation), then the final one.
    """
    writer = CountWriter(client, courses_table)
    counter = EnrollmentCounter(writer, Reconciler(EnrollmentRepository(client, enrollments_table), writer))
    records = [{"eventName": "INSERT", "dynamodb": {
        "Keys": {"user_id": {"S": key["user_id"]}, "course_id": {"S": key["course_id"]}},
        "SequenceNumber": str(10**20 + n), "ApproximateCreationDateTime": int(time.time())}}
        for n, key in enumerate(keys)]
    half = len(records) // 2
    state: Any = {}
    state = counter.handle({"Records": records[:half], "state": state, "shardId": "bench-shard"})["state"]
    counter.handle({"Records": records[half:], "state": state, "shardId": "bench-shard"})  # fails after running:
    state = counter.handle({"Records": records[half:], "state": state, "shardId": "bench-shard"})["state"]  # retried
    counter.handle({"Records": [], "state": state, "shardId": "bench-shard", "isFinalInvokeForWindow": True})


def settled(client: Any, courses_table: str, enrollments_table: str, course_id: str, *,
            shards: int | None) -> dict[str, int]:
    """The launch course's count and its roster rows (``ByCourse``), once the replay is over."""
    partitions = [roster_partition(course_id, s) for s in range(ROSTER_SHARDS)] if shards else [course_id]
    key = "course_shard" if shards else "course_id"
    rows: list[dict[str, Any]] = []
    for partition in partitions:
        request: dict[str, Any] = {
            "TableName": enrollments_table, "IndexName": "ByCourse",
            "KeyConditionExpression": f"{key} = :p", "ExpressionAttributeValues": {":p": {"S": partition}},
        }
        while True:
            response = client.query(**request)
            rows += [{name: value["S"] for name, value in item.items()} for item in response["Items"]]
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
    if shards:
        # the replay's shown counts were weighted stand-ins: the counter now counts the rows themselves
        client.update_item(TableName=courses_table, Key={"course_id": {"S": course_id}},
                           UpdateExpression="SET enrollment_count = :zero",
                           ExpressionAttributeValues={":zero": {"N": "0"}})
        count_through_the_counter(client, courses_table, enrollments_table, rows)
    item = client.get_item(TableName=courses_table, Key={"course_id": {"S": course_id}}, ConsistentRead=True)["Item"]
    return {"count": int(item["enrollment_count"]["N"]), "roster_rows": len(rows)}


def build_design(name: str, courses: list[dict[str, Any]], launch_course: str, seed: int) -> tuple[
        EnrollmentService, RecordingClient, dict[str, str]]:
    """Tables (from the template, or its pre-shard variant), seeded courses, and the service.

    ``after`` launches the documented way: the course's owner declares it (``PATCH`` with
    ``launch: true``, through the product's ``CourseWrites``) before its first enrollment.
    """
    client = dynamodb_client()
    names: dict[str, str] = {}
    specs: dict[str, TableSpec] = {}
    for logical_id, label in TABLES.items():
        props = resources_of_type("AWS::DynamoDB::Table")[logical_id]["Properties"]
        if name == "before":
            props = legacy_table_properties(logical_id, props)
        kwargs = _create_table_kwargs(logical_id, props, f"{name}-{seed}-")
        kwargs.pop("StreamSpecification", None)  # no stream consumer here; moto would keep every record
        client.create_table(**kwargs)
        names[label] = kwargs["TableName"]
        specs[kwargs["TableName"]] = table_spec(label, props)
    batch_write(client, names["Courses"], courses)
    settings = Settings.from_environment({**os.environ, "COURSES_TABLE": names["Courses"],
                                          "ENROLLMENTS_TABLE": names["Enrollments"], "REDIS_URL": "",
                                          "DYNAMODB_ENDPOINT": ""})
    container = Container(settings)
    recorder = RecordingClient(dynamodb_client(), read_item, specs)
    repository: EnrollmentRepository = (
        SingleCounterEnrollments(cast("DynamoDBClient", recorder), names["Enrollments"], names["Courses"])
        if name == "before" else EnrollmentRepository(cast("DynamoDBClient", recorder), names["Enrollments"]))
    if name == "after":
        owner = next(c for c in courses if c["course_id"] == launch_course)
        container.course_writes.update(Caller(str(owner["instructor_id"]), frozenset({INSTRUCTORS})), launch_course,
                                       CoursePatch(launch=True), expected_version=int(owner["version"]))
    service = EnrollmentService(repository, container.course_reads, container.cursors,
                                lists=EnrollmentLists(repository, container.cache))
    return service, recorder, names


# ------------------------------------------------------------------ the counter (stream -> course rows)


def counter_window_s() -> float:
    """``TumblingWindowInSeconds`` of the enrollment counter's event source (template)."""
    function = resources_of_type("AWS::Serverless::Function")["EnrollmentCounterFunction"]
    return float(function["Properties"]["Events"]["EnrollmentsStream"]["Properties"]["TumblingWindowInSeconds"])


def counter_writes(
    course_rates: Mapping[str, float], row_wcu: Mapping[str, int], *, stream_shards: int, window_s: float,
) -> dict[str, Any]:
    """What writing counts onto course rows costs, from each course's enrollment rate.

    Enrollment rows are keyed by user, so a course's records spread over every stream
    shard (one per partition of the Enrollments table). At each window's end the counter
    writes each course that had a record in that shard's window once: a transaction of the
    course row and a mark (under 1 KB), 2 units per KB each. A course with ``r`` records a
    second over ``S`` shards is in a shard's window with probability ``1 - exp(-r W / S)``
    (Poisson arrivals): that many writes per shard and window.
    """
    writes: dict[str, float] = {}
    for course_id, rate in course_rates.items():
        share = rate / stream_shards
        writes[course_id] = stream_shards * (1 - math.exp(-share * window_s)) / window_s
    wcu = {c: w * TRANSACTIONAL_FACTOR * (row_wcu[c] + 1) for c, w in writes.items()}
    busiest = max(wcu, key=wcu.__getitem__)
    enrollments = sum(course_rates.values())
    total = sum(writes.values())
    return {
        "stream_shards": stream_shards,
        "window_s": window_s,
        "count_writes_per_s": round(total, 1),
        "count_writes_per_enrollment": float(f"{total / enrollments:.3g}") if enrollments else 0.0,
        "count_wcu_per_s": round(sum(wcu.values())),
        "count_wcu_per_enrollment": float(f"{sum(wcu.values()) / enrollments:.3g}") if enrollments else 0.0,
        "busiest_course_row_wcu_per_s": round(wcu[busiest], 1),
        "busiest_course": busiest,
    }


def counter_model(args: argparse.Namespace, courses: Sequence[Mapping[str, Any]], launch_course: str,
                  catalogue: Sequence[str], enrollments_table_wcu_per_s: float) -> dict[str, Any]:
    """The counter during the launch: the replay's rates, stream shards as its Enrollments table's partitions.

    ``enrollments_table_wcu_per_s``: the table's write units a second (its rows only, not the
    index): one stream shard per 1,000 of them, the partitions the table needs at least.
    """
    weights = zipf_weights(len(catalogue), args.zipf_s)
    total = sum(weights)
    rates = {course_id: args.background_rate * weight / total for course_id, weight in zip(catalogue, weights,
                                                                                          strict=True)}
    rates[launch_course] = rates.get(launch_course, 0.0) + args.launch_rate
    by_id = {str(course["course_id"]): course for course in courses}
    row_wcu = {course_id: write_units(item_size(to_attributes(dict(by_id[course_id])))) for course_id in rates}
    window_s = counter_window_s()
    stream_shards = max(1, math.ceil(enrollments_table_wcu_per_s / PARTITION_WCU_PER_S))
    result = counter_writes(rates, row_wcu, stream_shards=stream_shards, window_s=window_s)
    launch = counter_writes({launch_course: args.launch_rate}, row_wcu, stream_shards=stream_shards,
                            window_s=window_s)
    result["launch_course_row_writes_per_s"] = launch["count_writes_per_s"]
    result["launch_course_row_wcu_per_s"] = launch["busiest_course_row_wcu_per_s"]
    result["busiest_course"] = "<launch course>" if result["busiest_course"] == launch_course else "a background course"
    return result


# the single-counter transaction; the product with the launch course undeclared, and declared
DESIGNS = ("before", "unannounced", "after")
SPREAD_KEYS = ("busiest_partition_second_wcu", "max_partition_wcu_per_s", "over_limit_partitions")


def replay_seed(args: argparse.Namespace, seed: int) -> dict[str, Any]:
    """Every design replayed on one seed's catalogue and requests: the report of that seed."""
    args.seed = seed
    data = generate(DatasetSpec(courses=args.courses, enrollments=0, users=1, seed=seed))
    published = {c["course_id"]: c for c in data.courses if c["status"] == "published"}
    launch_course, *catalogue = data.published_ids
    requests = workload(args, launch_course, catalogue)
    start = steady_counts(args, catalogue)
    courses = [{**course, "enrollment_count": start.get(course["course_id"], 0)} for course in data.courses]
    designs: dict[str, Any] = {}
    checks: dict[str, Any] = {}
    for name in DESIGNS:
        service, recorder, names = build_design(name, courses, launch_course, seed)
        product = name != "before"
        shown = CountsShown(dynamodb_client(), names["Courses"], start) if product else None
        result = replay(service, recorder, requests, f"{name} (seed {seed})", shown, duration_s=args.duration_s)
        designs[name] = result.summary(args.duration_s, args.hold_ms, launch_course)
        if name == "after":
            # every enrollment writes its own row (1 unit under 1 KB): the table's rate is the enrollment rate
            table_units = [w for (target, _), w in result.partition_wcu.items() if target == "Enrollments (table)"]
            row_units = max(1.0, sum(table_units) / max(1, len(table_units)))
            enrollments_wcu = (args.launch_rate + args.background_rate) * row_units
            counter = counter_model(args, courses, launch_course, catalogue, enrollments_wcu)
        checks[name] = settled(dynamodb_client(), names["Courses"], names["Enrollments"], launch_course,
                               shards=ROSTER_SHARDS if product else None)
        checks[name]["sampled_launch_enrollments"] = args.launch_samples
    return {
        "model": {
            "partition_wcu_per_s": PARTITION_WCU_PER_S,
            "write_unit_bytes": WRITE_UNIT_BYTES,
            "transactional_write_factor": TRANSACTIONAL_FACTOR,
            "index_write_factor": 1,
            "transaction_hold_ms": args.hold_ms,
            "conflicts": "expected transactions arriving while another holds one of their items: "
                         "sum over items of rate*(1-exp(-rate*hold))*duration",
            "rates": "each partition's write units over the window divided by its length (the load is steady)",
            "left_out": ["adaptive capacity and split for heat", "on-demand scaling history (new tables start "
                         "at 4,000 WCU/s)", "retries after throttling or conflicts", "cancelled transactions"],
        },
        "workload": {
            "launch_enrollments_per_s": args.launch_rate,
            "background_enrollments_per_s": args.background_rate,
            "duration_s": args.duration_s,
            "catalogue_published_courses": len(published),
            "zipf_s": args.zipf_s,
            "sampled_requests": {"launch": args.launch_samples, "background": args.background_samples},
            "weight_per_sample": {"launch": args.launch_rate * args.duration_s / args.launch_samples,
                                  "background": args.background_rate * args.duration_s / args.background_samples},
            "roster_shards": ROSTER_SHARDS,
            "seed": seed,
        },
        "designs": designs,
        "counter": counter,
        "settled": checks,
    }


def steady_counts(args: argparse.Namespace, catalogue: Sequence[str]) -> dict[str, int]:
    """The background courses' counts as the minute starts: the background is steady, so each
    course has already taken the minute before at its rate (a popular course has long been
    wide; only a course under ``WIDE_AT`` a minute is still narrow). The launch course has none."""
    weights = zipf_weights(len(catalogue), args.zipf_s)
    total = sum(weights)
    return {course_id: round(args.background_rate * weight / total * args.duration_s)
            for course_id, weight in zip(catalogue, weights, strict=True)}


def spread_of(reports: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per design, each seed's headline figures and every table's and index's busiest second."""
    spread: dict[str, Any] = {"seeds": [r["workload"]["seed"] for r in reports]}
    for name in DESIGNS:
        per_seed = [r["designs"][name] for r in reports]
        targets = sorted({t for d in per_seed for t in d["busiest_second_by_target"]})
        spread[name] = {key: [d[key] for d in per_seed] for key in SPREAD_KEYS}
        spread[name]["busiest_second_by_target"] = {
            t: [d["busiest_second_by_target"].get(t, {}).get("wcu", 0) for d in per_seed] for t in targets}
    return spread


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--launch-rate", type=float, default=10_000, help="enrollments/s on the launch course")
    parser.add_argument("--background-rate", type=float, default=50_000, help="enrollments/s on the rest")
    parser.add_argument("--duration-s", type=float, default=60.0)
    parser.add_argument("--courses", type=int, default=10_000, help="catalogue size (85 %% published)")
    parser.add_argument("--zipf-s", type=float, default=1.1, help="Zipf exponent of the background")
    parser.add_argument("--launch-samples", type=int, default=4_000)
    parser.add_argument("--background-samples", type=int, default=4_000)
    parser.add_argument("--hold-ms", type=float, default=5.0, help="how long a transaction holds its items")
    parser.add_argument("--seeds", type=int, nargs="+", default=[14, 15, 16],
                        help="one replay per seed: the first is reported in full, every one in the spread")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--quick", action="store_true", help="small catalogue and samples, one seed (smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        args.courses, args.launch_samples, args.background_samples, args.seeds = 300, 200, 200, args.seeds[:1]

    moto_transactions.install()
    use_fake_aws_credentials()
    mock = mock_aws()  # moto in this process: the same backend as its server, without HTTP per call
    mock.start()
    try:
        reports = [replay_seed(args, seed) for seed in args.seeds]
    finally:
        mock.stop()
        moto_transactions.uninstall()
    report = {**reports[0], "spread": spread_of(reports)}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.output == RESULTS:
        update_document(markdown(report))
    print(render(report))
    return report


SECTION_BEGIN = "<!-- writes:begin (generated by make bench-writes) -->"
SECTION_END = "<!-- writes:end -->"
DOCUMENT = REPO_ROOT / "docs" / "BENCHMARKS.md"


def update_document(section: str, path: Path = DOCUMENT) -> None:
    """Put the writes section into ``docs/BENCHMARKS.md``, replacing the previous one (the rest is untouched)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{SECTION_BEGIN}\n{section.strip()}\n{SECTION_END}\n"
    if SECTION_BEGIN in text and SECTION_END in text:
        head, rest = text.split(SECTION_BEGIN, 1)
        text = head + block + rest.split(SECTION_END, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text, encoding="utf-8")


def _figures(values: Sequence[float]) -> str:
    """A figure over the seeds: the first seed's, then the others' in parentheses."""
    head, *rest = (f"{v:,.0f}" for v in values)
    return f"{head} ({', '.join(rest)})" if rest else head


def markdown(report: Mapping[str, Any]) -> str:
    """The writes section of ``docs/BENCHMARKS.md``, from a report."""
    work, designs = report["workload"], report["designs"]
    before, unannounced, after = (designs[name] for name in DESIGNS)
    counter, spread = report["counter"], report["spread"]
    hold = report["model"]["transaction_hold_ms"]
    shard_load = work["launch_enrollments_per_s"] / work["roster_shards"]
    seeds = ", ".join(str(seed) for seed in spread["seeds"])
    rows = []
    for label, key in (("busiest partition, WCU/s (limit 1,000)", "max_partition_wcu_per_s"),
                       ("partitions over 1,000 WCU/s", "over_limit_partitions"),
                       ("busiest partition in its busiest second, WCU", "busiest_partition_second_wcu"),
                       ("busiest item, transactions/s", "busiest_item_transactions_per_s"),
                       (f"transaction conflicts in {work['duration_s']:g} s (hold {hold:g} ms)",
                        "transaction_conflicts"),
                       ("write units per enrollment (table and indexes)", "write_units_per_enrollment"),
                       ("write units, all partitions, per s", "total_wcu_per_s")):
        cells = [_figures(spread[n][key]) if key in SPREAD_KEYS else f"{designs[n][key]:,}" for n in DESIGNS]
        rows.append(f"| {label} | {' | '.join(cells)} |")
    holds = " / ".join(f"{ms} ms: {before['transaction_conflicts_by_hold_ms'][ms]:,} before, "
                       f"{after['transaction_conflicts_by_hold_ms'][ms]:,} after"
                       for ms in sorted(before["transaction_conflicts_by_hold_ms"], key=float))
    targets = sorted({t for n in DESIGNS for t in designs[n]["busiest_by_target"]})
    target_rows = "\n".join(f"| `{t}` | {' | '.join(_cell(designs[n]['busiest_by_target'].get(t)) for n in DESIGNS)} |"
                            for t in targets)
    second_rows = "\n".join(
        f"| `{t}` | {' | '.join(_second(designs[n], spread[n], t) for n in DESIGNS)} |" for t in targets)
    settled = report["settled"]
    return f"""## Writes: a course launch (`make bench-writes`)

_Generated by `make bench-writes` from [`benchmarks/results/writes.json`](../benchmarks/results/writes.json);
the model and its assumptions are in [`benchmarks/writes.py`](../benchmarks/writes.py)._

**Workload**: one course takes {work['launch_enrollments_per_s']:,.0f} enrollments/s for {work['duration_s']:g} s
while {work['background_enrollments_per_s']:,.0f}/s spread by Zipf (s = {work['zipf_s']}) over the other
{work['catalogue_published_courses'] - 1:,} published courses: {work['launch_enrollments_per_s'] * work['duration_s']
 + work['background_enrollments_per_s'] * work['duration_s']:,.0f} enrollments. A sample of
{work['sampled_requests']['launch']:,} launch and {work['sampled_requests']['background']:,} background
requests goes through `EnrollmentService.enroll` against moto three times: with the single-counter transaction
("before": the enrollment row and `ADD 1` on the course row), and with the product's conditional Put of the
enrollment row alone, the launch course once **unannounced** (its roster turns wide over
{work['roster_shards']} `ByCourse` partitions when its count reaches 100) and once declared the documented way
("after": its owner's `PATCH` with `launch: true` before the launch, so it is wide from the first enrollment).
Each sample is weighted by the requests it stands for ({work['weight_per_sample']['launch']:,.0f} and
{work['weight_per_sample']['background']:,.0f}). Figures with parentheses are seed {spread['seeds'][0]}'s, then
the other seeds' (seeds {seeds}); the rest are seed {spread['seeds'][0]}'s.

| | before | unannounced | after (declared) |
|---|---|---|---|
{chr(10).join(rows)}

Busiest partition of each table and index, averaged over the launch minute (seed {spread['seeds'][0]}):

| table or index | before | unannounced | after (declared) |
|---|---|---|---|
{target_rows}

Busiest second of each table's and index's busiest partition, WCU (seeds {seeds}; the limit is 1,000):

| table or index | before | unannounced | after (declared) |
|---|---|---|---|
{second_rows}

**The counter.** Counts reach course rows from the Enrollments stream: the enrollment counter sums each stream
shard's records over a {counter['window_s']:g} s tumbling window and writes each course once per shard and window
(a transaction of the course row and its mark). With {counter['stream_shards']} stream shards (one per partition
the replay's Enrollments table needs) the model gives {counter['count_writes_per_s']:,} count writes a second,
{counter['count_writes_per_enrollment']} per enrollment ({counter['count_wcu_per_enrollment']} write units), and
{counter['count_wcu_per_s']:,} WCU/s on course rows, none on an index (no index projects the count). The launch
course's row takes {counter['launch_course_row_writes_per_s']} writes a second
({counter['launch_course_row_wcu_per_s']:,} WCU/s), the busiest row ({counter['busiest_course']})
{counter['busiest_course_row_wcu_per_s']:,} WCU/s, against 1,000. No item is written by two students'
enrollments: nothing an enrollment writes can conflict. A count shown lags its enrollment by up to the
window plus the stream's delay. Unannounced, the busiest second ({unannounced['busiest_second']}) is the launch's
start: the course shows fewer than 100 enrollments, so its roster is one partition until the counter's early write
reaches the enroll path (the replay shows counts 1 s behind, on the second). Declared, no second of any partition
passes the limit: the busiest is {after['busiest_second']} (a sample's students are spread evenly over the
course's partitions, so its {work['roster_shards']} partitions tie; the second is the one with the most samples).

Conflicts by how long a transaction holds its items (DynamoDB does not publish it): {holds}.
Once the replay is over, the launch course's count and its roster agree: before {settled['before']['count']:,}
counted / {settled['before']['roster_rows']:,} rows, unannounced {settled['unannounced']['count']:,} /
{settled['unannounced']['roster_rows']:,}, after {settled['after']['count']:,} /
{settled['after']['roster_rows']:,}, for {settled['after']['sampled_launch_enrollments']:,} sampled enrollments.

**Assumptions** (DynamoDB's documented rules): 1,000 write units per partition per second; 1 unit per started KB
of the larger of the old and new item, 2 in a transaction; an index entry 1 unit per KB of its projection, two
writes when its key changes; an item in an ongoing transaction fails a concurrent transaction on it.
**Left out**: adaptive capacity and split for heat (it can split a partition by sort key, never one item's writes);
on-demand scaling history (a new on-demand table starts at 4,000 WCU/s and doubles from its previous peak) and
the per-table throughput quota (40,000 write units per second by default, raised on request), both of which a
launch this size must be provisioned for; retries after throttling or conflicts; cancelled transactions'
capacity. **Sampling**: rates of partitions shared by many requests (a course row, `ByStatus`) are exact up to the
weights; a roster partition takes 1/{work['roster_shards']} of its course's samples, so its figure carries sampling
noise (about ±10 % per launch partition at this sample size, more in one second, and the busiest of
{work['roster_shards']} is the one the noise pushed up most: the expected load of every launch partition is
{work['launch_enrollments_per_s']:,.0f} / {work['roster_shards']} = {shard_load:,.0f} WCU/s). The figures depend
on the seeds, not on the machine.
"""


def _cell(entry: Mapping[str, Any] | None) -> str:
    if entry is None:
        return "no write"
    if entry["wcu_per_s"] < 1:  # a user's own partition: one row per enrollment
        return f"under 1 WCU/s (one student's partition, e.g. `{entry['partition']}`)"
    return f"{entry['wcu_per_s']:,} WCU/s on `{entry['partition']}`"


def _second(design: Mapping[str, Any], spread: Mapping[str, Any], target: str) -> str:
    entry = design["busiest_second_by_target"].get(target)
    if entry is None:
        return "no write"
    return f"{_figures(spread['busiest_second_by_target'][target])} (`{entry['partition']}`, second {entry['second']})"


def render(report: Mapping[str, Any]) -> str:
    """The side-by-side table printed at the end."""
    designs = report["designs"]
    lines = [f"{'':34}" + "".join(f"{name:>22}" for name in DESIGNS)]
    for label, key in (("busiest partition, WCU/s", "max_partition_wcu_per_s"),
                       ("busiest partition-second, WCU", "busiest_partition_second_wcu"),
                       ("partitions over 1,000 WCU/s", "over_limit_partitions"),
                       ("transaction conflicts", "transaction_conflicts"),
                       ("busiest item, transactions/s", "busiest_item_transactions_per_s"),
                       ("all partitions, WCU/s", "total_wcu_per_s")):
        lines.append(f"{label:34}" + "".join(f"{designs[name][key]:>22,}" for name in DESIGNS))
    for name in DESIGNS:
        lines.append(f"busiest second, {name}: {designs[name]['busiest_second']}")
    for name in DESIGNS:
        seconds = report["spread"][name]["busiest_second_by_target"]
        lines.append(f"busiest second per target over seeds {report['spread']['seeds']}, {name}: "
                     + "; ".join(f"{t} {values}" for t, values in seconds.items()))
    counter = report["counter"]
    lines.append(f"counter: {counter['count_writes_per_s']:,} writes/s ({counter['count_writes_per_enrollment']} per "
                 f"enrollment), {counter['count_wcu_per_s']:,} WCU/s; launch course row "
                 f"{counter['launch_course_row_wcu_per_s']:,} WCU/s")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
