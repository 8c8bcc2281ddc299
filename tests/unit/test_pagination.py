"""Cursors are opaque, signed and bound to the list they came from."""

from typing import Any

import pytest
from botocore.exceptions import ClientError

from courses_api.data.cursors import CursorCodec, InvalidCursor, _b64
from courses_api.data.dynamo import query_page
from courses_api.errors import BadRequest, DependencyUnavailable

KEY = {"course_id": "abc", "published_at": "2026-11-01T10:00:00.000000Z", "status": "published"}


def test_round_trip() -> None:
    codec = CursorCodec(b"secret")
    cursor = codec.encode("scope", KEY)
    assert cursor is not None
    assert "abc" not in cursor or "." in cursor
    assert codec.decode("scope", cursor) == KEY


def test_end_of_list_has_no_cursor() -> None:
    codec = CursorCodec(b"secret")
    assert codec.encode("scope", None) is None
    assert codec.decode("scope", None) is None
    assert codec.decode("scope", "") is None


@pytest.mark.parametrize(
    "mutate",
    [
        lambda c: c.replace(".", ".x", 1),
        lambda c: c[:-1] + ("A" if c[-1] != "A" else "B"),
        lambda c: "eyJjb3Vyc2VfaWQiOiJ6In0." + c.split(".")[1],
        lambda c: c.split(".")[0],
        lambda c: c + ".extra",
        lambda c: "!!!.###",
        lambda c: "x" * 5000,
    ],
)
def test_tampered_cursors_are_rejected(mutate: object) -> None:
    codec = CursorCodec(b"secret")
    cursor = codec.encode("scope", KEY)
    assert cursor is not None
    with pytest.raises(BadRequest):
        codec.decode("scope", mutate(cursor))  # type: ignore[operator]


def test_cursor_is_bound_to_scope_and_secret() -> None:
    cursor = CursorCodec(b"secret").encode("catalogue", KEY)
    with pytest.raises(BadRequest):
        CursorCodec(b"secret").decode("category:web", cursor)
    with pytest.raises(BadRequest):
        CursorCodec(b"other-secret").decode("catalogue", cursor)


def signed(codec: CursorCodec, scope: str, payload: bytes) -> str:
    """A cursor whose signature is right, for any payload: what a holder of the secret could make."""
    signature = codec._signature(scope, payload)
    return f"{_b64(payload)}.{_b64(signature)}"


@pytest.mark.parametrize(
    "payload",
    [
        b"[]",
        b"{}",
        b'"course_id"',
        b'{"course_id": ["abc"]}',
        b'{"course_id": {"S": "abc"}}',
        b'{"course_id": 1.5}',
        b'{"course_id": true}',
        b'{"course_id": null}',
        b'{"course_id": ""}',
        b'{"course_id": 1' + b"0" * 40 + b"}",
        b'{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"}',
        b'{"course_id": "' + b"x" * 1500 + b'"}',
        b"[" * 1500,
        b"\xff\xfe",
    ],
)
def test_well_signed_cursors_with_a_malformed_key_are_400(payload: bytes) -> None:
    codec = CursorCodec(b"secret")
    with pytest.raises(InvalidCursor):
        codec.decode("scope", signed(codec, "scope", payload))


def test_keys_this_api_issues_are_accepted() -> None:
    codec = CursorCodec(b"secret")
    key = {"course_id": "abc", "enrolled_at": "2026-11-01T10:00:00Z", "user_id": "u-1", "shard": 7}
    assert codec.decode("scope", codec.encode("scope", key)) == key


class _RefusingClient:
    """Stands in for DynamoDB's start-key validation, which moto does not implement: a key
    that does not match the index is a ValidationException in AWS."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def query(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        raise ClientError({"Error": {"Code": "ValidationException", "Message": "The provided starting key is invalid"}},
                          "Query")


def test_a_start_key_dynamodb_refuses_is_a_bad_cursor_not_an_outage() -> None:
    client: Any = _RefusingClient()  # a stand-in for the DynamoDB client
    with pytest.raises(InvalidCursor):
        query_page(client, limit=10, start_key={"foo": "bar"}, TableName="Courses")
    with pytest.raises(DependencyUnavailable):  # without a client's key, it is ours to answer for
        query_page(client, limit=10, start_key=None, TableName="Courses")
