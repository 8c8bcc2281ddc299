"""The Redis client of a container: single node or cluster, TLS, and ElastiCache auth.

Created once per container (``get_redis_client``) with explicit connect and read
timeouts in the tens of milliseconds and no client-side retries: a slow Redis must cost
one timeout, after which the circuit breaker takes over.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeAlias
from urllib.parse import urlencode, urlsplit

import redis
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.credentials import CredentialProvider
from redis.retry import Retry

from courses_api.settings import Settings

RedisClient: TypeAlias = redis.Redis | RedisCluster

IAM_TOKEN_LIFETIME_S = 900  # ElastiCache rejects a token older than 15 minutes
IAM_TOKEN_REFRESH_S = 600  # sign a new one well before that


class CacheConfigurationError(ValueError):
    """The Redis settings cannot work (e.g. IAM auth without a user or cache name)."""


@dataclass(frozen=True, slots=True)
class IAMTarget:
    """Whom an IAM token is for: an ElastiCache user of a cache in a region (Serverless or not)."""

    user: str
    cache_name: str
    region: str
    serverless: bool = False


class ElastiCacheIAMProvider(CredentialProvider):
    """Credentials for ElastiCache IAM auth: the user id and a SigV4-presigned token.

    The token is a presigned ``GET https://<cache-name>/?Action=connect&User=<user>``
    (plus ``ResourceType=ServerlessCache`` for Serverless) signed locally with botocore;
    no AWS call is made. It is valid 15 minutes for new connections, so it is cached and
    re-signed after ``refresh_s``. redis-py asks for credentials on every new connection.

    The token's age is measured on the wall clock, the one its SigV4 date is checked
    against: a monotonic clock stands still while Lambda freezes an idle environment, so
    a thawed container would keep presenting an expired token.
    """

    def __init__(
        self,
        target: IAMTarget,
        *,
        credentials: Any = None,
        refresh_s: float = IAM_TOKEN_REFRESH_S,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not target.user or not target.cache_name:
            raise CacheConfigurationError("IAM auth needs REDIS_USERNAME and REDIS_CACHE_NAME")
        self.user = target.user
        self.cache_name = target.cache_name
        self.region = target.region
        self.serverless = target.serverless
        self.refresh_s = min(refresh_s, IAM_TOKEN_LIFETIME_S - 60)
        self._clock = clock or time.time
        self._credentials = credentials
        self._lock = threading.Lock()
        self._token = ""
        self._signed_at = float("-inf")

    def get_credentials(self) -> tuple[str] | tuple[str, str]:
        with self._lock:
            if self._clock() - self._signed_at >= self.refresh_s:
                self._token = self._sign()
                self._signed_at = self._clock()
            return (self.user, self._token)

    def _sign(self) -> str:
        # botocore ships with the Lambda runtime; imported lazily to keep cold starts of
        # password/no-auth configurations free of it.
        import botocore.session
        from botocore.model import ServiceId
        from botocore.signers import RequestSigner

        session = botocore.session.get_session()
        credentials = self._credentials or session.get_credentials()
        if credentials is None:
            raise CacheConfigurationError("no AWS credentials to sign the ElastiCache IAM token")
        signer = RequestSigner(
            ServiceId("elasticache"),
            self.region,
            "elasticache",
            "v4",
            credentials,
            session.get_component("event_emitter"),
        )
        query = {"Action": "connect", "User": self.user}
        if self.serverless:
            query["ResourceType"] = "ServerlessCache"
        url = f"https://{self.cache_name}/?{urlencode(query)}"
        signed = signer.generate_presigned_url(
            {"method": "GET", "url": url, "body": {}, "headers": {}, "context": {}},
            operation_name="connect",
            expires_in=IAM_TOKEN_LIFETIME_S,
            region_name=self.region,
        )
        return str(signed).removeprefix("https://")


def _is_serverless_endpoint(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return ".serverless." in host


def client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments shared by ``Redis`` and ``RedisCluster``."""
    options: dict[str, Any] = {
        "socket_connect_timeout": settings.redis_connect_timeout_ms / 1000,
        "socket_timeout": settings.redis_socket_timeout_ms / 1000,
        "socket_keepalive": True,
        "retry": Retry(NoBackoff(), 0),
        "retry_on_timeout": False,
        "health_check_interval": 0,
        "decode_responses": False,
    }
    if settings.redis_auth_mode == "password":
        password = settings.redis_password.get_secret_value()
        if not password:
            raise CacheConfigurationError("REDIS_AUTH_MODE=password needs REDIS_PASSWORD")
        options["password"] = password
        if settings.redis_username:
            options["username"] = settings.redis_username
    elif settings.redis_auth_mode == "iam":
        options["credential_provider"] = ElastiCacheIAMProvider(IAMTarget(
            settings.redis_username,
            settings.redis_cache_name,
            settings.aws_region,
            serverless=_is_serverless_endpoint(settings.redis_url),
        ))
    return options


def create_redis_client(settings: Settings) -> RedisClient:
    """A new client for ``settings.redis_url`` (``rediss://`` means TLS)."""
    if not settings.redis_url:
        raise CacheConfigurationError("REDIS_URL is empty")
    options = client_options(settings)
    if settings.redis_cluster:
        # One attempt per command; the breaker, not the client, decides when to retry.
        return RedisCluster.from_url(settings.redis_url, require_full_coverage=False, **options)
    return redis.Redis.from_url(settings.redis_url, **options)


@lru_cache(maxsize=4)
def get_redis_client(settings: Settings) -> RedisClient:
    """The container's client for these settings, created once and reused across invocations."""
    return create_redis_client(settings)
