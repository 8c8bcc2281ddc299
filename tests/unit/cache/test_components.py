"""Near cache, breaker, codec, keys, client options and IAM tokens: no network."""

from __future__ import annotations

import secrets
import urllib.parse
from typing import Any

import pytest
import redis
from botocore.credentials import Credentials
from pydantic import BaseModel, SecretStr, TypeAdapter
from redis.crc import key_slot

from courses_api.cache.api import ListNamespace, NullCache
from courses_api.cache.client import (
    CacheConfigurationError,
    ElastiCacheIAMProvider,
    IAMTarget,
    TCPConnection,
    TLSConnection,
    client_options,
    create_redis_client,
)
from courses_api.cache.codec import Codec, CodecError
from courses_api.cache.config import CacheConfig, build_cache
from courses_api.cache.entries import KeySpace
from courses_api.cache.guard import BreakerState, CircuitBreaker
from courses_api.cache.manager import RedisCacheManager
from courses_api.cache.metrics import NullMetrics
from courses_api.cache.near import ENTRY_OVERHEAD, NearCache
from courses_api.settings import Settings


def state_of(breaker: CircuitBreaker) -> BreakerState:
    """The breaker's state, read afresh (mypy would keep a narrowed ``breaker.state`` across calls)."""
    return breaker.state



class Row(BaseModel):
    id: str
    body: str = ""


ROW = TypeAdapter(Row)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def settings(**overrides: Any) -> Settings:
    return Settings(courses_table="courses", enrollments_table="enrollments",
                    cursor_secret=SecretStr(secrets.token_urlsafe(32)), **overrides)


# ---------------------------------------------------------------- near cache


def test_near_cache_expires_entries_after_ttl() -> None:
    clock = Clock()
    near = NearCache(ttl_s=1.0, max_entries=10, max_bytes=10_000, clock=clock)
    near.put("k", "v", 10)
    assert near.get("k") == (True, "v")
    clock.now += 1.01
    assert near.get("k") == (False, None)


def test_near_cache_is_bounded_by_entries_and_bytes_lru_first() -> None:
    budget = 4 * ENTRY_OVERHEAD + 100
    near = NearCache(ttl_s=10, max_entries=3, max_bytes=budget)
    for key in "abc":
        near.put(key, key, 10)
    near.get("a")  # a is now most recently used
    near.put("d", "d", 10)
    assert near.get("b") == (False, None)
    assert near.get("a")[0]
    assert near.get("d")[0]
    near.put("big", "x", 3 * ENTRY_OVERHEAD + 90)  # evicts until under the byte budget
    entries, size = near.stats()
    assert size <= budget
    assert entries <= 3
    near.put("huge", "x", budget)
    assert near.get("huge") == (False, None), "an entry larger than the whole budget is not kept"


def test_near_cache_zero_ttl_stores_nothing() -> None:
    near = NearCache(ttl_s=0, max_entries=10, max_bytes=10_000)
    near.put("k", "v", 1)
    assert near.get("k") == (False, None)


def test_near_cache_drops_keys_and_a_list_by_prefix() -> None:
    near = NearCache(ttl_s=10, max_entries=10, max_bytes=10_000)
    near.put("g}:page1", 1, 1)
    near.put("g}:page2", 2, 1)
    near.put("h}:page1", 3, 1)
    near.put("item", 4, 1)
    near.invalidate(["item"], ["g}"])
    assert [near.get(k)[0] for k in ("g}:page1", "g}:page2", "h}:page1", "item")] == [False, False, True, False]
    assert near.stats()[0] == 1


# ---------------------------------------------------------------- breaker


def test_breaker_opens_after_threshold_and_probes_once_after_cooldown() -> None:
    clock = Clock()
    changes: list[tuple[BreakerState, BreakerState]] = []
    breaker = CircuitBreaker(3, 5.0, clock=clock, on_change=lambda old, new, _: changes.append((old, new)))
    breaker.record_failure()
    breaker.record_success()  # a success resets the count: failures must be consecutive
    for _ in range(2):
        breaker.record_failure()
    assert state_of(breaker) is BreakerState.CLOSED
    assert breaker.allow()
    breaker.record_failure()
    assert state_of(breaker) is BreakerState.OPEN
    assert not breaker.allow()
    clock.now += 5.0
    assert breaker.allow()
    assert state_of(breaker) is BreakerState.HALF_OPEN
    assert not breaker.allow(), "only one probe while half-open"
    breaker.record_failure()
    assert state_of(breaker) is BreakerState.OPEN
    assert not breaker.allow()
    clock.now += 5.0
    assert breaker.allow()
    breaker.record_success()
    assert state_of(breaker) is BreakerState.CLOSED
    assert breaker.allow()
    assert changes == [
        (BreakerState.CLOSED, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.OPEN),
        (BreakerState.OPEN, BreakerState.HALF_OPEN),
        (BreakerState.HALF_OPEN, BreakerState.CLOSED),
    ]


def test_breaker_lets_another_probe_through_when_one_is_lost() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 1.0, clock=clock)
    breaker.record_failure()
    clock.now += 1.0
    assert breaker.allow()  # this probe's caller never reports back
    clock.now += 1.0
    assert breaker.allow()


# ---------------------------------------------------------------- codec and keys


def test_codec_round_trips_compresses_large_values_and_encodes_none() -> None:
    codec = Codec(compress_threshold=100)
    small, small_size = codec.encode(Row(id="a"), ROW)
    large, large_size = codec.encode(Row(id="b", body="x" * 1000), ROW)
    negative, negative_size = codec.encode(None, ROW)
    assert (small[:1], large[:1], negative[:1]) == (b"J", b"Z", b"N")
    assert len(large) < 200 < large_size
    assert (small_size, negative_size) == (len(ROW.dump_json(Row(id="a"))), 0)
    assert codec.decode(small, ROW) == (Row(id="a"), small_size)
    assert codec.decode(large, ROW) == (Row(id="b", body="x" * 1000), large_size)
    assert codec.decode(negative, ROW) == (None, 0)
    with pytest.raises(CodecError):
        codec.decode(b"J{not json", ROW)
    with pytest.raises(CodecError):
        codec.decode(b"Z\x00\x01", ROW)
    with pytest.raises(CodecError):
        codec.decode(b"Q", ROW)


def test_keys_are_versioned_and_hash_tagged() -> None:
    keys = KeySpace("courses", 3)
    assert keys.item("abc").value == "courses:v3:item:{abc}"
    assert keys.item("abc").lease == "courses:v3:item:{abc}:lease"
    page = keys.page(ListNamespace("instructor", "u-1"), "limit=20&cursor=xyz")
    assert page.generation == "courses:v3:gen:{instructor:u-1}"
    assert page.value.startswith("courses:v3:list:{instructor:u-1}:")
    assert page.lease == page.value + ":lease"
    assert keys.page(ListNamespace("instructor", "u-1"), "limit=10").value != page.value
    tricky = keys.item("a}b{c")
    slot_tag = tricky.value[tricky.value.index("{") + 1 : tricky.value.index("}")]
    assert slot_tag == "a%7Db%7Bc", "a brace in an id cannot break the hash tag"
    assert key_slot(page.generation.encode()) == key_slot(page.lease.encode()) == key_slot(page.value.encode())


# ---------------------------------------------------------------- client options and IAM


def test_client_options_use_millisecond_timeouts_and_no_retries() -> None:
    options = client_options(
        settings(redis_url="rediss://cache:6379", redis_connect_timeout_ms=40, redis_socket_timeout_ms=30)
    )
    assert options["socket_connect_timeout"] == 0.04
    assert options["socket_timeout"] == 0.03
    assert options["retry"].get_retries() == 0
    assert "password" not in options
    assert "credential_provider" not in options


def test_the_url_gives_the_endpoint_database_and_credentials_and_the_settings_the_rest() -> None:
    """redis-py's URL form (``redis.from_url``): ``rediss://`` is TLS, the path is the database,
    credentials are percent-decoded. A query string is ignored: options come from the settings."""
    client = create_redis_client(settings(redis_url="rediss://app:p%40ss@cache.example:6380/2?socket_timeout=9&unknown=1",
                                          redis_cluster=False, redis_socket_timeout_ms=30))
    plain = create_redis_client(settings(redis_url="redis://127.0.0.1", redis_cluster=False))
    assert isinstance(client, redis.Redis)
    assert isinstance(plain, redis.Redis)
    options = client.connection_pool.connection_kwargs
    assert (options["host"], options["port"], options["db"]) == ("cache.example", 6380, 2)
    assert (options["username"], options["password"]) == ("app", "p@ss")
    assert options["socket_timeout"] == 0.03
    assert "unknown" not in options, "an option redis-py does not know would fail every connection"
    assert client.connection_pool.connection_class is TLSConnection
    assert (plain.connection_pool.connection_kwargs["port"], plain.connection_pool.connection_class) == (
        6379, TCPConnection)
    with pytest.raises(CacheConfigurationError):
        create_redis_client(settings(redis_url="unix:///run/redis/redis.sock", redis_cluster=False))


def test_password_auth_needs_a_password() -> None:
    with pytest.raises(CacheConfigurationError):
        client_options(settings(redis_url="rediss://cache:6379", redis_auth_mode="password"))
    options = client_options(
        settings(redis_url="rediss://c:6379", redis_auth_mode="password", redis_username="app", redis_password="s3cret")
    )
    assert (options["username"], options["password"]) == ("app", "s3cret")


def test_iam_token_is_a_presigned_connect_url_renewed_before_expiry() -> None:
    clock = Clock()
    provider = ElastiCacheIAMProvider(
        IAMTarget("app-user", "my-cache", "eu-west-1", serverless=True),
        credentials=Credentials("AKIDEXAMPLE", "secret"),
        clock=clock,
    )
    user, token = provider.get_credentials()  # type: ignore[misc]
    assert user == "app-user"
    assert token.startswith("my-cache/?")
    query = urllib.parse.parse_qs(token.split("?", 1)[1])
    assert query["Action"] == ["connect"]
    assert query["User"] == ["app-user"]
    assert query["ResourceType"] == ["ServerlessCache"]
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert query["X-Amz-Expires"] == ["900"]
    assert "/eu-west-1/elasticache/aws4_request" in query["X-Amz-Credential"][0]
    assert provider.get_credentials()[1] == token, "cached while fresh"  # type: ignore[misc]
    clock.now += 601
    provider._credentials = Credentials("AKIDOTHER", "secret2")
    assert provider.get_credentials()[1] != token, "re-signed before the 15-minute expiry"  # type: ignore[misc]


def test_iam_mode_from_settings_builds_a_credential_provider() -> None:
    options = client_options(
        settings(
            redis_url="rediss://my-cache-abc.serverless.euw1.cache.amazonaws.com:6379",
            redis_auth_mode="iam",
            redis_username="app-user",
            redis_cache_name="my-cache",
            aws_region="eu-west-1",
        )
    )
    provider = options["credential_provider"]
    assert isinstance(provider, ElastiCacheIAMProvider)
    assert provider.target.serverless
    with pytest.raises(CacheConfigurationError):
        client_options(settings(redis_url="rediss://c:6379", redis_auth_mode="iam"))


def test_build_cache_without_redis_is_a_null_cache_and_with_redis_connects_lazily() -> None:
    assert isinstance(build_cache(settings(redis_url=""), NullMetrics()), NullCache)
    cache = build_cache(settings(redis_url="redis://127.0.0.1:1/0", near_cache_ttl_s=0.5), NullMetrics())
    assert isinstance(cache, RedisCacheManager)
    assert cache.near.ttl_s == 0.5  # nothing connected yet: sockets are disabled in unit tests


def test_config_is_built_once_from_settings() -> None:
    config = CacheConfig.from_settings(settings(
        cache_item_ttl_s=120, cache_key_prefix="shop", cache_schema_version=3, near_cache_ttl_s=0.5,
        cache_fence_ttl_ms=1500, breaker_cooldown_s=2.0,
    ))
    assert (config.keys, config.item_ttl_s, config.near_ttl_s) == (KeySpace("shop", 3), 120, 0.5)
    assert (config.fence_ttl_ms, config.breaker_cooldown_s) == (1500, 2.0)
