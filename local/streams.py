"""A local DynamoDB Streams event source mapping: moto's stream → the invalidator function.

Lambda polls the stream, hands the function batches shaped as DynamoDB stream events and,
with ``ReportBatchItemFailures``, resumes from the first failed record. This poller does
the same against moto (or any endpoint) with the ``dynamodbstreams`` API, so the local
server keeps the cache coherent and the counts right the way the deployed stack does.

With ``TumblingWindowInSeconds`` it runs Lambda's tumbling windows: each batch goes with
the ``state`` the previous invocation returned, and when a record of a later window
arrives, or the window's end has passed with the stream idle, or :meth:`StreamPoller.drain`
asks, the window is closed by a last invocation marked ``isFinalInvokeForWindow``. A
response without ``state`` is a failed invocation, retried with the same state.

It never delivers a record DynamoDB would not have written. moto rolls a cancelled
``TransactWriteItems`` back by swapping in copies of its tables; an iterator taken before
the swap still reads the discarded shard, which holds records of the cancelled writes
(DynamoDB writes none), and the next real record reuses such a record's sequence number.
So each read is made twice, with iterators taken one after the other, and only the
records both reads agree on (same event id, same sequence number) are delivered.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from local.aws import FAKE_CREDENTIALS
from local.specs import StreamSubscription
from local.template import LOCAL_REGION

log = logging.getLogger("local.streams")

POLL_INTERVAL_S = 0.25  # how often an idle shard is read again
RETRY_CAP = 10  # MaximumRetryAttempts -1 means "until the record expires"; locally we stop here


def _wire_value(value: Any) -> Any:
    """boto3 decodes ``B``/``BS`` values to bytes; in a Lambda event they are base64 strings."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dict):
        return {key: _wire_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wire_value(item) for item in value]
    return value


def lambda_record(record: dict[str, Any], stream_arn: str, region: str = LOCAL_REGION) -> dict[str, Any]:
    """One ``GetRecords`` record → the record Lambda's event source mapping would deliver."""
    stream = record.get("dynamodb", {})
    created = stream.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        created_epoch: float = created.timestamp()
    elif isinstance(created, str):
        created_epoch = datetime.fromisoformat(created).timestamp()
    elif isinstance(created, int | float):
        created_epoch = float(created)
    else:
        created_epoch = time.time()
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": int(created_epoch),
        "Keys": _wire_value(stream.get("Keys", {})),
        "SequenceNumber": str(stream.get("SequenceNumber", "")),
        "SizeBytes": int(stream.get("SizeBytes", 0)),
        "StreamViewType": stream.get("StreamViewType", "NEW_AND_OLD_IMAGES"),
    }
    # moto adds an empty OldImage to INSERTs and an empty NewImage to REMOVEs; DynamoDB does not.
    for image in ("NewImage", "OldImage"):
        if stream.get(image):
            dynamodb[image] = _wire_value(stream[image])
    return {
        "eventID": record.get("eventID", ""),
        "eventName": record.get("eventName", ""),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion", region),
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


def window_event(  # noqa: PLR0913 - the event's fields, each named
    records: list[dict[str, Any]], *, state: Any, shard_id: str, stream_arn: str, start: datetime,
    window_s: int, final: bool,
) -> dict[str, Any]:
    """A tumbling-window invocation as Lambda shapes it (``DynamodbTimeWindowEvent``)."""
    end = datetime.fromtimestamp(start.timestamp() + window_s, UTC)
    return {
        "Records": records,
        "window": {"start": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "end": end.strftime("%Y-%m-%dT%H:%M:%SZ")},
        "state": state or {},
        "shardId": shard_id,
        "eventSourceARN": stream_arn,
        "isFinalInvokeForShard": False,
        "isFinalInvokeForWindow": final,
        "isWindowTerminatedEarly": False,
    }


def agreed(first: list[dict[str, Any]], second: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records two reads of the same position agree on (a phantom is in one read only)."""
    same: list[dict[str, Any]] = []
    for one, other in zip(first, second, strict=False):
        if (one.get("eventID"), one["dynamodb"].get("SequenceNumber")) != (
                other.get("eventID"), other["dynamodb"].get("SequenceNumber")):
            break
        same.append(one)
    return same


def failed_from(response: Any, batch: list[dict[str, Any]]) -> int | None:
    """Index of the first record to redeliver, per Lambda's partial batch response rules.

    ``None`` means the whole batch succeeded. A malformed response or an unknown
    identifier fails the whole batch (index 0), as Lambda does.
    """
    if not isinstance(response, dict) or not response.get("batchItemFailures"):
        return None
    failures = response["batchItemFailures"]
    if not isinstance(failures, list):
        return 0
    sequence_index = {record["dynamodb"]["SequenceNumber"]: index for index, record in enumerate(batch)}
    indexes: list[int] = []
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not identifier or identifier not in sequence_index:
            return 0
        indexes.append(sequence_index[identifier])
    return min(indexes)


class StreamPoller(threading.Thread):
    """Polls one table's stream and invokes ``invoke`` with Lambda-shaped batches."""

    def __init__(
        self,
        endpoint_url: str,
        table_name: str,
        subscription: StreamSubscription,
        invoke: Callable[[dict[str, Any]], Any],
        *,
        starting_position: str | None = None,
    ) -> None:
        super().__init__(name=f"stream-{table_name}", daemon=True)
        config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)
        credentials = FAKE_CREDENTIALS
        self._dynamodb: Any = boto3.client(
            "dynamodb", endpoint_url=endpoint_url, region_name=LOCAL_REGION, config=config,
            aws_access_key_id=credentials["aws_access_key_id"],
            aws_secret_access_key=credentials["aws_secret_access_key"],
        )
        self._streams: Any = boto3.client(
            "dynamodbstreams", endpoint_url=endpoint_url, region_name=LOCAL_REGION, config=config,
            aws_access_key_id=credentials["aws_access_key_id"],
            aws_secret_access_key=credentials["aws_secret_access_key"],
        )
        self.table_name = table_name
        self.subscription = subscription
        self._invoke = invoke
        self._poll_interval_s = POLL_INTERVAL_S
        self._starting_position = starting_position or subscription.starting_position
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self.stream_arn = ""
        self._shard_id = ""
        self._last_sequence = ""
        self.delivered = 0
        self.batches = 0
        self.retries = 0
        self.dropped = 0
        self.discarded = 0  # records one read saw and the other did not (moto's rolled-back writes)
        self.last_error = ""
        self._window_s = subscription.tumbling_window_s
        self._window_start: float | None = None
        self._state: Any = {}
        self._drains: list[threading.Event] = []
        self._drains_lock = threading.Lock()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout_s)

    def wait_ready(self, timeout_s: float = 10.0) -> bool:
        """True once the poller holds a shard iterator (records written after that are seen)."""
        return self._ready.wait(timeout_s)

    def drain(self, timeout_s: float = 30.0) -> bool:
        """Deliver everything written so far and close the open window; True once done."""
        done = threading.Event()
        with self._drains_lock:
            self._drains.append(done)
        return done.wait(timeout_s)

    def _open(self) -> None:
        description = self._dynamodb.describe_table(TableName=self.table_name)["Table"]
        self.stream_arn = description["LatestStreamArn"]
        shards = self._streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]
        self._shard_id = shards[-1]["ShardId"]

    def _iterator(self) -> str:
        """A fresh iterator just after the last record seen (the shard's start before any).

        Iterators are re-made whenever the stream is idle, rather than followed forever:
        moto replaces its tables (and their stream shard) with deep copies when a
        ``TransactWriteItems`` is cancelled, which strands any iterator on the old shard.
        """
        kwargs: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": self._shard_id}
        if self._last_sequence:
            kwargs.update(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=self._last_sequence)
        else:
            kwargs.update(ShardIteratorType="TRIM_HORIZON")
        iterator: str = self._streams.get_shard_iterator(**kwargs)["ShardIterator"]
        return iterator

    def _skip_to_latest(self) -> None:
        """Start at ``LATEST``: read past what the stream already holds (e.g. the seed data)."""
        while True:
            records = self._read()
            if not records:
                return
            self._last_sequence = str(records[-1]["dynamodb"]["SequenceNumber"])

    def _read(self) -> list[dict[str, Any]]:
        """The records after the last one seen that two reads agree on (see the module)."""
        first = self._streams.get_records(ShardIterator=self._iterator(), Limit=1000).get("Records", [])
        if not first:
            return []
        second = self._streams.get_records(ShardIterator=self._iterator(), Limit=1000).get("Records", [])
        records = agreed(first, second)
        self.discarded += len(first) - len(records)
        return records

    def _take_drains(self) -> list[threading.Event]:
        with self._drains_lock:
            drains, self._drains = self._drains, []
        return drains

    def run(self) -> None:
        try:
            self._open()
            if self._starting_position != "TRIM_HORIZON":
                self._skip_to_latest()
        except (ClientError, BotoCoreError, KeyError, IndexError) as error:
            self.last_error = f"cannot open the stream of {self.table_name}: {error}"
            log.error(self.last_error)
            return
        self._ready.set()
        while not self._stopping.is_set():
            drains = self._take_drains()
            try:
                records = self._read()
            except (ClientError, BotoCoreError) as error:
                self.last_error = str(error)
                log.warning("get_records failed: %s", error)
                self._stopping.wait(1.0)
                self._requeue(drains)
                continue
            pending = [lambda_record(record, self.stream_arn) for record in records]
            while pending and not self._stopping.is_set():
                if self._window_s:
                    pending = self._deliver_windowed(pending)
                    continue
                consumed = self._deliver(pending[: self.subscription.batch_size])
                if consumed:
                    self._last_sequence = pending[consumed - 1]["dynamodb"]["SequenceNumber"]
                pending = pending[consumed:]
            if records:
                self._requeue(drains)  # caught up only once a read finds nothing new
                continue
            if self._window_s and self._window_start is not None and (
                    drains or time.time() >= self._window_start + self._window_s):
                self._close_window()
            for done in drains:
                done.set()
            if not drains:
                self._stopping.wait(self._poll_interval_s)

    def _requeue(self, drains: list[threading.Event]) -> None:
        with self._drains_lock:
            self._drains[:0] = drains

    def _window_of(self, record: dict[str, Any]) -> float:
        created = float(record["dynamodb"].get("ApproximateCreationDateTime") or time.time())
        return created - created % self._window_s

    def _deliver_windowed(self, pending: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Deliver the next batch of one window (closing the open one first if it ended); what remains."""
        window = self._window_of(pending[0])
        if self._window_start is not None and window > self._window_start and not self._close_window():
            return pending
        if self._window_start is None:
            self._window_start = window
        batch = [r for r in pending[: self.subscription.batch_size] if self._window_of(r) <= self._window_start]
        if not self._invoke_window(batch, final=False):
            return pending
        self.delivered += len(batch)
        self._last_sequence = batch[-1]["dynamodb"]["SequenceNumber"]
        return pending[len(batch):]

    def _close_window(self) -> bool:
        """The window's final invocation; True once it succeeded (a fresh window follows)."""
        if not self._invoke_window([], final=True):
            return False
        self._window_start, self._state = None, {}
        return True

    def _invoke_window(self, batch: list[dict[str, Any]], *, final: bool) -> bool:
        """One window invocation, retried with the same state until it returns one (or the cap)."""
        start = datetime.fromtimestamp(self._window_start or time.time(), UTC)
        for attempt in range(RETRY_CAP + 1):
            event = window_event(batch, state=self._state, shard_id=self._shard_id, stream_arn=self.stream_arn,
                                 start=start, window_s=self._window_s, final=final)
            try:
                response = self._invoke(event)
                error = "" if isinstance(response, dict) and "state" in response else "response without state"
            except Exception as exc:
                response, error = None, f"{type(exc).__name__}: {exc}"
            self.batches += 1
            if not error and isinstance(response, dict):
                self._state = response["state"]
                return True
            self.retries += 1
            self.last_error = error
            log.warning("retrying window invocation of %s (attempt %d): %s", self.table_name, attempt + 1, error)
            if self._stopping.wait(min(2.0, 0.05 * 2 ** (attempt + 1))):
                return False
        self.dropped += len(batch)
        log.error("dropping %d stream record(s) of %s after %d retries", len(batch), self.table_name, RETRY_CAP)
        return True

    def _deliver(self, batch: list[dict[str, Any]]) -> int:
        """Invoke until the batch is done; returns how many records were consumed."""
        limit = self.subscription.maximum_retry_attempts
        max_retries = RETRY_CAP if limit < 0 else min(limit, RETRY_CAP)
        attempt = 0
        while True:
            try:
                response = self._invoke({"Records": batch})
                first_failed = failed_from(response, batch) if self.subscription.report_batch_item_failures else None
                error = "" if first_failed is None else "partial batch failure"
            except Exception as exc:
                first_failed, error = 0, f"{type(exc).__name__}: {exc}"
            self.batches += 1
            if first_failed is None:
                self.delivered += len(batch)
                return len(batch)
            if first_failed > 0:
                # The checkpoint moves past the successes; redelivery starts at the failed record.
                self.delivered += first_failed
                return first_failed
            if attempt >= max_retries:
                self.dropped += len(batch)
                self.last_error = error
                log.error("dropping %d stream record(s) of %s after %d retries: %s",
                          len(batch), self.table_name, attempt, error)
                return len(batch)
            attempt += 1
            self.retries += 1
            log.warning("retrying %d stream record(s) (attempt %d): %s", len(batch), attempt, error)
            if self._stopping.wait(min(2.0, 0.05 * 2**attempt)):
                return 0
