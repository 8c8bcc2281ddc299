"""DynamoDB access shared by the repositories: the client factory, item (de)serialisation, batch helpers.

Every read here is a GetItem, a Query on the table or a GSI, or a BatchGetItem: there is
no Scan on any request path (a test hooks the client to prove it).

botocore alone, not boto3: importing any part of boto3 (even ``boto3.dynamodb.types``)
runs its package ``__init__``, which loads s3transfer and its thread and process pools,
about 15 ms of every cold start for code no function calls. The wire format's rules
(https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_AttributeValue.html)
are a few lines here, with boto3's ``TypeSerializer``'s choices: numbers are ``int`` or
``Decimal`` (a float is refused, not rounded), within DynamoDB's 38 digits.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import TYPE_CHECKING, Any, TypeVar, cast

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.loaders import Loader

from courses_api.data.capacity import CapacityMeter
from courses_api.data.cursors import InvalidCursor
from courses_api.errors import DependencyUnavailable
from courses_api.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
MAX_BATCH_RETRIES = 8
QUERY_MAX_ROUNDS = 5  # a filtered page stops after this many reads and hands back a cursor
FILTER_READ_AHEAD = 4  # a filtered read asks for this many times the items still missing
# DynamoDB's number range and precision (boto3's DYNAMODB_CONTEXT): anything it would round is refused.
NUMBERS = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])

Item = dict[str, Any]
T = TypeVar("T")


class DynamoDBOnlyLoader(Loader):
    """botocore's data loader, told that DynamoDB is the one service this process uses.

    Loading a service model first lists every service botocore ships (some 400 folders,
    each checked for the model's file) only to confirm the name exists; that listing is
    a sixth of building a client at cold start. The models are still read from botocore's
    own data, by the same loader code.
    """

    def list_available_services(self, type_name: str) -> list[str]:
        return ["dynamodb"]


def build_dynamodb_client(settings: Settings, meter: CapacityMeter | None = None) -> DynamoDBClient:
    """A DynamoDB client with explicit timeouts and standard retries; one per container."""
    config = Config(
        connect_timeout=settings.dynamodb_connect_timeout_s,
        read_timeout=settings.dynamodb_read_timeout_s,
        retries={"mode": "standard", "max_attempts": settings.dynamodb_max_attempts},
        tcp_keepalive=True,
    )
    session = botocore.session.get_session()
    session.register_component("data_loader", DynamoDBOnlyLoader())
    client = cast("DynamoDBClient", session.create_client(
        "dynamodb", region_name=settings.aws_region, endpoint_url=settings.dynamodb_endpoint or None, config=config
    ))
    if meter is not None:
        meter.attach(client)
    return client


def _number_text(value: int | Decimal) -> str:
    text = str(NUMBERS.create_decimal(value))
    if text in ("Infinity", "-Infinity", "NaN"):
        raise TypeError(f"DynamoDB has no {text}")
    return text


# Scalar types in the order they are tried (``bool`` before ``int``, of which it is a subclass).
_SCALARS: tuple[tuple[type | tuple[type, ...], str, Callable[[Any], Any]], ...] = (
    (bool, "BOOL", bool), ((int, Decimal), "N", _number_text), (str, "S", str), ((bytes, bytearray), "B", bytes),
)


def wire(value: Any) -> dict[str, Any]:
    """One Python value as a DynamoDB AttributeValue."""
    if value is None:
        return {"NULL": True}
    for types, kind, convert in _SCALARS:
        if isinstance(value, types):
            return {kind: convert(value)}
    if isinstance(value, Mapping):
        return {"M": {str(key): wire(inner) for key, inner in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [wire(inner) for inner in value]}
    members = [wire(inner) for inner in value] if isinstance(value, set | frozenset) else []
    kinds = {kind for member in members for kind in member}
    if len(kinds) == 1 and (kind := kinds.pop()) in ("S", "N", "B"):
        return {f"{kind}S": [member[kind] for member in members]}
    raise TypeError(f"no DynamoDB type for {type(value).__name__} {value!r} (floats: use Decimal)")


def _number(text: str) -> int | Decimal:
    """A DynamoDB number as Python: ``int`` when it is written as a whole number, else ``Decimal``."""
    number = NUMBERS.create_decimal(text)
    return int(number) if number == number.to_integral_value() and "." not in str(number) else number


_PYTHON_OF_TYPE: dict[str, Callable[[Any], Any]] = {
    "S": str,
    "N": _number,
    "B": bytes,
    "BOOL": bool,
    "NULL": lambda _: None,
    "M": lambda inner: {key: python(value) for key, value in inner.items()},
    "L": lambda inner: [python(value) for value in inner],
    "SS": sorted,
    "NS": lambda inner: sorted(_number(text) for text in inner),
    "BS": sorted,
}


def python(value: Mapping[str, Any]) -> Any:
    """One DynamoDB AttributeValue as JSON-friendly Python (sets become sorted lists)."""
    (kind, inner), = value.items()
    return _PYTHON_OF_TYPE[kind](inner)


def to_attributes(item: Item) -> dict[str, Any]:
    """Python dict → DynamoDB wire form (``None`` values are left out)."""
    return {key: wire(value) for key, value in item.items() if value is not None}


def from_attributes(item: Mapping[str, Any]) -> Item:
    """DynamoDB wire form → Python dict."""
    return {key: python(value) for key, value in item.items()}


def values_of(**values: Any) -> dict[str, Any]:
    """``ExpressionAttributeValues`` from keyword arguments (``:name`` → value)."""
    return {f":{name}": wire(value) for name, value in values.items()}


def unavailable(error: ClientError | BotoCoreError) -> DependencyUnavailable:
    """The domain error for a DynamoDB failure that no retry fixed."""
    return DependencyUnavailable("The database did not answer; retry shortly.")


def is_condition_failure(error: ClientError) -> bool:
    """True when a conditional write was refused because its condition was false."""
    code: str = error.response.get("Error", {}).get("Code", "")
    return code == "ConditionalCheckFailedException"


def jittered_backoff(attempt: int, base_s: float = 0.025, cap_s: float = 1.0) -> None:
    """Full-jitter exponential backoff (AWS architecture blog), bounded by ``cap_s``."""
    time.sleep(random.uniform(0, min(cap_s, base_s * 2**attempt)))  # noqa: S311 - jitter, not crypto


def chunked(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` values."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _until_processed(
    send: Callable[[dict[str, Any]], Mapping[str, Any]],
    pending: dict[str, Any],
    unprocessed_key: str,
    what: str,
) -> Iterator[Mapping[str, Any]]:
    """Send a batch request, then its unprocessed part, with bounded jittered backoff.

    Yields each response; raises a 503 domain error when DynamoDB keeps refusing part of it.
    """
    for attempt in range(MAX_BATCH_RETRIES + 1):
        try:
            response = send(pending)
        except (ClientError, BotoCoreError) as error:
            raise unavailable(error) from error
        yield response
        pending = response.get(unprocessed_key) or {}
        if not pending:
            return
        if attempt == MAX_BATCH_RETRIES:
            raise DependencyUnavailable(f"The database is throttling {what}; retry shortly.")
        jittered_backoff(attempt)


def batch_get(
    client: DynamoDBClient,
    table: str,
    keys: Sequence[dict[str, Any]],
    *,
    consistent: bool = False,
) -> list[Item]:
    """BatchGetItem in chunks of 100, retrying ``UnprocessedKeys`` with bounded jittered backoff.

    ``keys`` are Python dicts; the result holds the items found, in no particular order.
    ``consistent`` asks for strongly consistent reads (twice the read units).
    """
    found: list[Item] = []
    unique = list({tuple(sorted(k.items())): k for k in keys}.values())
    for chunk in chunked(unique, BATCH_GET_LIMIT):
        request: dict[str, Any] = {"Keys": [to_attributes(k) for k in chunk]}
        if consistent:
            request["ConsistentRead"] = True
        responses = _until_processed(
            lambda pending: client.batch_get_item(RequestItems=pending, ReturnConsumedCapacity="TOTAL"),
            {table: request}, "UnprocessedKeys", "reads",
        )
        for response in responses:
            found.extend(from_attributes(item) for item in response.get("Responses", {}).get(table, []))
    return found


def batch_write(client: DynamoDBClient, table: str, items: Iterable[Item]) -> int:
    """BatchWriteItem (puts) in chunks of 25, retrying ``UnprocessedItems``; returns items written."""
    written = 0
    for chunk in chunked(list(items), BATCH_WRITE_LIMIT):
        puts = {table: [{"PutRequest": {"Item": to_attributes(item)}} for item in chunk]}
        for _ in _until_processed(lambda pending: client.batch_write_item(RequestItems=pending),
                                  puts, "UnprocessedItems", "writes"):
            pass
        written += len(chunk)
    return written


def query_page(
    client: DynamoDBClient,
    *,
    limit: int,
    start_key: dict[str, Any] | None,
    max_rounds: int = QUERY_MAX_ROUNDS,
    key_names: Sequence[str] = (),
    **query: Any,
) -> tuple[list[Item], dict[str, Any] | None]:
    """One page of up to ``limit`` matching items from a Query, and the key to resume after.

    With a ``FilterExpression`` a single Query may return fewer than ``limit`` items, so
    this reads on for at most ``max_rounds`` rounds. Given ``key_names`` (the index's and
    the table's key attributes), each filtered round reads ahead, ``FILTER_READ_AHEAD``
    times what is still missing: a page then usually takes one request (every request is
    billed at least half a read unit, however little it returns), and when more items
    match than the page takes, the key returned is the last kept item's, so the next page
    resumes right after it. Otherwise each round asks only for what is missing and the
    key is DynamoDB's. Either way, following the keys visits every item exactly once.
    """
    read_ahead = "FilterExpression" in query and bool(key_names)
    items: list[Item] = []
    next_key = start_key
    for round_number in range(max_rounds):
        missing = limit - len(items)
        asked = missing * FILTER_READ_AHEAD if read_ahead else missing
        request = dict(query, Limit=asked, ReturnConsumedCapacity="TOTAL")
        if next_key:
            request["ExclusiveStartKey"] = to_attributes(next_key)
        try:
            response = client.query(**request)
        except ClientError as error:
            if round_number == 0 and start_key and error.response.get("Error", {}).get("Code") == "ValidationException":
                # DynamoDB refused the key a client's cursor carried (it does not match this
                # index): the cursor is bad, not the database.
                raise InvalidCursor from error
            raise unavailable(error) from error
        except BotoCoreError as error:
            raise unavailable(error) from error
        found = [from_attributes(item) for item in response.get("Items", [])]
        if len(found) > missing:  # read ahead past the page: resume after the last item kept
            items.extend(found[:missing])
            return items, {name: items[-1][name] for name in key_names}
        items.extend(found)
        raw_next = response.get("LastEvaluatedKey")
        next_key = from_attributes(raw_next) if raw_next else None
        if next_key is None or len(items) >= limit:
            break
    return items, next_key


def guarded(call: Callable[[], T]) -> T:
    """Run one DynamoDB call, turning transport and service failures into a 503 domain error."""
    try:
        return call()
    except ClientError as error:
        if is_condition_failure(error):
            raise
        raise unavailable(error) from error
    except BotoCoreError as error:
        raise unavailable(error) from error
