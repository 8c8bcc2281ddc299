"""Cursors across a secret rotation: cached pages hold raw keys, and a rotation window
accepts the previous secret; in AWS the secret is read from Secrets Manager at init."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING

import boto3
import pytest
import redis

from courses_api.data.cursors import CursorCodec, CursorSecretError, InvalidCursor, secrets_manager_keys
from courses_api.data.dynamo import batch_write
from tests.support.data import course_item
from tests.support.events import load_event
from tests.support.functions import call
from tests.support.services import LOCAL_REGION, MotoEndpoint

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

OLD, NEW = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
KEY = {"course_id": "abc", "published_at": "2026-11-01T10:00:00.000000Z", "status": "published"}


@pytest.fixture
def seeded(tables: dict[str, str], dynamodb: DynamoDBClient, with_redis: redis.Redis) -> None:
    rows = [course_item(f"rot{i:04d}", published_at=f"2026-11-01T10:{i:02d}:00.000000Z") for i in range(12)]
    batch_write(dynamodb, tables["COURSES_TABLE"], rows)


def page(module: ModuleType, cursor: str | None = None) -> tuple[int, str, dict[str, object]]:
    query = {"limit": "5", **({"cursor": cursor} if cursor else {})}
    result = call(module, load_event("list_courses", query=query))
    return result.status, result.headers.get("X-Cache", ""), result.body or {}


def test_a_page_cached_before_a_rotation_hands_out_cursors_the_new_secret_signed(
    seeded: None, function: Callable[[str], ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a page filled by a container signing with the old secret
    monkeypatch.setenv("CURSOR_SECRET", OLD)
    assert page(function("list_courses"))[1] == "MISS"
    # When a container with only the new secret serves it from the cache
    monkeypatch.setenv("CURSOR_SECRET", NEW)
    rotated = function("list_courses")
    status, outcome, body = page(rotated)
    assert (status, outcome) == (200, "HIT")
    # Then its next page answers (it answered 400 while pages cached signed cursors)
    cursor = body["next_cursor"]
    assert isinstance(cursor, str)
    assert page(rotated, cursor)[0] == 200


def test_the_rotation_window_accepts_the_previous_secret(
    seeded: None, function: Callable[[str], ModuleType], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CURSOR_SECRET", OLD)
    cursor = page(function("list_courses"))[2]["next_cursor"]
    assert isinstance(cursor, str)
    monkeypatch.setenv("CURSOR_SECRET", NEW)
    assert page(function("list_courses"), cursor)[0] == 400  # the old secret is no longer accepted
    monkeypatch.setenv("CURSOR_SECRET_PREVIOUS", OLD)
    status, _, body = page(function("list_courses"), cursor)
    assert status == 200
    # and what it hands out is signed with the new secret alone
    assert CursorCodec(NEW.encode()).decode("published:*:*", str(body["next_cursor"])) is not None


def test_the_codec_signs_with_the_current_secret_and_accepts_the_previous() -> None:
    old, new = CursorCodec(OLD.encode()), CursorCodec(NEW.encode(), previous=(OLD.encode(),))
    issued = old.encode("scope", KEY)
    assert new.decode("scope", issued) == KEY
    with pytest.raises(InvalidCursor):
        old.decode("scope", new.encode("scope", KEY))
    with pytest.raises(InvalidCursor):
        CursorCodec(NEW.encode()).decode("scope", issued)


@pytest.fixture
def secret_store(moto_endpoint: MotoEndpoint, monkeypatch: pytest.MonkeyPatch) -> object:
    """Secrets Manager on moto's server (over HTTP), as the functions reach it in AWS."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_endpoint.url)
    return boto3.client("secretsmanager", region_name=LOCAL_REGION, endpoint_url=moto_endpoint.url)


def test_keys_come_from_secrets_manager_and_follow_a_rotation(secret_store: object) -> None:
    client = boto3.client("secretsmanager", region_name=LOCAL_REGION)
    name = f"cursor-{secrets.token_hex(4)}"
    arn = client.create_secret(Name=name, SecretString=OLD)["ARN"]
    keys = secrets_manager_keys(arn, max_age_s=0)  # no caching: each call reads the secret
    assert keys() == (OLD.encode(),)
    # Step one of a rotation: every container accepts the new key before anyone signs with it
    client.put_secret_value(SecretId=arn, SecretString=json.dumps({"current": OLD, "previous": [NEW]}))
    assert keys() == (OLD.encode(), NEW.encode())
    client.put_secret_value(SecretId=arn, SecretString=json.dumps({"current": NEW, "previous": [OLD]}))
    assert keys()[0] == NEW.encode()
    client.put_secret_value(SecretId=arn, SecretString="x" * 40)
    with pytest.raises(CursorSecretError):
        keys()


def test_a_paging_function_reads_its_key_at_init_from_secrets_manager(
    secret_store: object, tables: dict[str, str], with_redis: redis.Redis,
    function: Callable[[str], ModuleType], monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = boto3.client("secretsmanager", region_name=LOCAL_REGION)
    arn = client.create_secret(Name=f"cursor-{secrets.token_hex(4)}", SecretString=NEW)["ARN"]
    monkeypatch.delenv("CURSOR_SECRET")
    monkeypatch.setenv("CURSOR_SECRET_ID", arn)
    module = function("list_courses")
    assert module.container.cursors.keys() == (NEW.encode(),)
