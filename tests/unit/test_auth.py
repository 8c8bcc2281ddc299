"""Callers come only from the authorizer's claims, in every form API Gateway sends them."""

from typing import Any

import pytest

from courses_api.domain.auth import ANONYMOUS, Caller
from courses_api.errors import Forbidden, Unauthorized
from courses_api.http.caller import caller_from_event, parse_groups


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, set()),
        ("", set()),
        ("[]", set()),
        ("admins", {"admins"}),
        # The Cognito authorizer of a REST API: array elements between brackets, space-separated
        ("[admins instructors]", {"admins", "instructors"}),
        ("[operator]", {"operator"}),
        ("[ admins  instructors ]", {"admins", "instructors"}),
        # The optional Lambda authorizer: a JSON array in a string
        ('["admins","instructors"]', {"admins", "instructors"}),
        ('["x,admins"]', {"x,admins"}),
        (["instructors"], {"instructors"}),
        # A comma is part of a name (Cognito allows punctuation, not whitespace, in names)
        ("x,admins", {"x,admins"}),
        ("admins,instructors", {"admins,instructors"}),
        ("[x,admins]", {"x,admins"}),
        ("[x,admins instructors]", {"x,admins", "instructors"}),
        ("[[admins]]", {"[admins]"}),
        # Not names: whitespace, non-strings, other types
        ("admins instructors", set()),
        ([1, None, "admins"], {"admins"}),
        ({"admins": True}, set()),
        (42, set()),
    ],
)
def test_group_forms(raw: Any, expected: set[str]) -> None:
    assert parse_groups(raw) == expected


def test_a_group_named_like_a_list_of_admins_grants_nothing() -> None:
    for raw in ("x,admins", "[x,admins]", '["x,admins"]', "admins,", ",admins"):
        caller = caller_from_event({"requestContext": {"authorizer": {"claims": {"sub": "u", "cognito:groups": raw}}}})
        assert not caller.is_admin, raw


def event_with(authorizer: Any) -> dict[str, Any]:
    return {"requestContext": {"authorizer": authorizer}}


def test_cognito_claims() -> None:
    caller = caller_from_event(event_with({"claims": {"sub": "u1", "cognito:groups": "[instructors]"}}))
    assert caller == Caller("u1", frozenset({"instructors"}))
    assert caller.is_instructor
    assert not caller.is_admin


def test_lambda_authorizer_context_and_anonymous() -> None:
    assert caller_from_event(event_with({"sub": "u2", "cognito:groups": "admins"})).is_admin
    assert caller_from_event(event_with({"principalId": "anonymous"})) == ANONYMOUS
    assert caller_from_event({}) == ANONYMOUS
    assert caller_from_event(event_with("not a mapping")) == ANONYMOUS
    assert caller_from_event(event_with({"claims": {"sub": ""}})) == ANONYMOUS


def test_roles_and_ownership() -> None:
    with pytest.raises(Unauthorized):
        ANONYMOUS.require_user()
    with pytest.raises(Forbidden):
        Caller("u1").require_any_group(["instructors", "admins"])
    assert Caller("u1", frozenset({"instructors"})).require_any_group(["instructors"]) == "u1"
    assert Caller("u1").may_manage("u1")
    assert not Caller("u1").may_manage("u2")
    assert Caller("root", frozenset({"admins"})).may_manage("u2")
    assert not ANONYMOUS.may_manage("u1")
