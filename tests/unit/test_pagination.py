"""Cursors are opaque, signed and bound to the list they came from."""

import pytest

from courses_api.data.cursors import CursorCodec
from courses_api.errors import BadRequest

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
