"""The Redis client of a container: single node or cluster, TLS, and ElastiCache auth.

Created once per container (``get_redis_client``), no client-side retries: a slow Redis
must cost one timeout, after which the circuit breaker takes over. Two timeouts: the
connect timeout bounds TCP, the TLS handshake and ``AUTH`` of a new connection (hundreds
of milliseconds on a cold arm64 function), the socket timeout every command after that.

Configured to send ElastiCache only what its access string allows (``template.yaml``,
``CacheAppUser``): RESP2 (no ``HELLO``, so no maintenance-notification handshake), no
``CLIENT SETINFO``, and no ``COMMAND``: the cluster client routes by a key-position table
of exactly the commands the cache package sends (:data:`KEY_POSITIONS`), and ``EVAL``
keys by their ``numkeys`` (no ``COMMAND GETKEYS`` round trip).

Measured on the local ElastiCache stand-in (``benchmarks/first_contact.py``, 4 runs of 30
new clients each): construction plus the first GET 18.5-22.8 ms median (p10-p90 7.6-35.2 ms)
against 243-352 ms median for a stock ``RedisCluster``; 2 connections at cold start (each a
TLS handshake and an AUTH) against 3: the cluster client closes the connection it discovered
the slots on and opens one to the key's shard, so one connection per shard used stays open.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, TypeAlias
from urllib.parse import urlencode, urlsplit

import redis
from redis._parsers import CommandsParser
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.connection import Connection, SSLConnection, parse_url
from redis.credentials import CredentialProvider
from redis.exceptions import RedisClusterException
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
        self.target = target
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
            return (self.target.user, self._token)

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
        target = self.target
        signer = RequestSigner(ServiceId("elasticache"), target.region, "elasticache", "v4", credentials,
                               session.get_component("event_emitter"))
        query = {"Action": "connect", "User": target.user}
        if target.serverless:
            query["ResourceType"] = "ServerlessCache"
        signed = signer.generate_presigned_url(
            {"method": "GET", "url": f"https://{target.cache_name}/?{urlencode(query)}", "body": {}, "headers": {},
             "context": {}},
            operation_name="connect", expires_in=IAM_TOKEN_LIFETIME_S, region_name=target.region,
        )
        return str(signed).removeprefix("https://")


# (first key, last key, step) of each keyed command the cache package sends, as COMMAND INFO
# gives them (a negative last counts from the end); EVAL/EVALSHA keys come from numkeys.
# A test compares this table with the server's COMMAND INFO.
KEY_POSITIONS: dict[str, tuple[int, int, int]] = {
    "GET": (1, 1, 1),
    "SET": (1, 1, 1),
    "MGET": (1, -1, 1),
    "DEL": (1, -1, 1),
    "EXISTS": (1, -1, 1),
    "INCR": (1, 1, 1),
    "PEXPIRE": (1, 1, 1),
    "PTTL": (1, 1, 1),
}
SCRIPT_COMMANDS = frozenset({"EVAL", "EVALSHA"})


class UnroutedCommandError(RedisClusterException):
    """A keyed command missing from :data:`KEY_POSITIONS` (add it there and to the access string)."""


class KeyTableParser(CommandsParser):
    """Keys of a command from :data:`KEY_POSITIONS`; never asks the server (``COMMAND``)."""

    def __init__(self) -> None:
        self.commands = {}

    def initialize(self, r: Any) -> None:
        """Nothing to load: the table is static."""

    def get_keys(self, redis_conn: Any, *args: Any) -> list[Any] | None:
        name = str(args[0]).upper()
        if name in SCRIPT_COMMANDS:
            return list(args[3 : 3 + int(args[2])])
        if name not in KEY_POSITIONS:
            raise UnroutedCommandError(f"{name} is not in the cache client's key-position table")
        first, last, step = KEY_POSITIONS[name]
        last = len(args) + last if last < 0 else last
        return [args[position] for position in range(first, last + 1, step)]


class ElastiCacheCluster(RedisCluster):
    """``RedisCluster`` that routes from :class:`KeyTableParser` instead of ``COMMAND``."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands_parser = KeyTableParser()

    def command(self, **kwargs: Any) -> dict[str, Any]:
        """Called once by ``RedisCluster.__init__`` to fill its parser; answered locally, and
        the parser replaced by the key table right after."""
        return {}


@lru_cache(maxsize=4)
def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """One verifying TLS context per container (redis-py builds one per connection and
    reloads the trust store each time); ``ca_file`` for a private CA, else the system's."""
    return ssl.create_default_context(cafile=ca_file or None)


class TCPConnection(Connection):
    """TCP (a local Redis); the set-up of a new connection (``AUTH``, and the TLS handshake
    of the subclass) runs under the connect timeout."""

    def on_connect_check_health(self, check_health: bool = True) -> None:
        sock = self._sock
        if sock is not None:
            sock.settimeout(self.socket_connect_timeout)
        try:
            super().on_connect_check_health(check_health=check_health)
        finally:
            if self._sock is not None:
                self._sock.settimeout(self.socket_timeout)


class TLSConnection(TCPConnection, SSLConnection):
    """TLS with the container's shared context; the handshake under the connect timeout."""

    def _connect(self) -> socket.socket:
        sock: socket.socket = Connection._connect(self)
        sock.settimeout(self.socket_connect_timeout)
        try:
            wrapped = tls_context(self.ca_certs).wrap_socket(sock, server_hostname=self.host)
        except (OSError, ssl.SSLError):
            sock.close()
            raise
        wrapped.settimeout(self.socket_timeout)
        return wrapped


FailureCause: TypeAlias = Literal["denied", "timed_out", "unreachable", "error"]
DENIAL_MARKERS = ("NOPERM", "WRONGPASS", "NOAUTH")


def failure_cause(error: BaseException) -> tuple[FailureCause, str]:
    """Why a Redis call failed, for the health detail, the log and the metric, with Redis's text.

    ``denied``: the access string or AUTH refused it (NOPERM, WRONGPASS, NOAUTH: a deploy
    problem, not an outage); ``timed_out``: no answer within the timeout; ``unreachable``:
    no connection (or no cluster). The cluster client wraps its start-up error, so the chain
    is searched for the first cause that says more.
    """
    from redis import exceptions

    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    for found in chain:
        text = f"{type(found).__name__}: {found}"[:300]
        if isinstance(found, exceptions.AuthenticationError | exceptions.NoPermissionError) or any(
            marker in str(found) for marker in DENIAL_MARKERS
        ):
            return "denied", text
        if isinstance(found, exceptions.TimeoutError | TimeoutError):
            return "timed_out", text
    for found in chain:
        if isinstance(found, exceptions.ConnectionError | ConnectionError | exceptions.ClusterError):
            return "unreachable", f"{type(found).__name__}: {found}"[:300]
    text = f"{type(error).__name__}: {error}"[:300]
    if isinstance(error, OSError | exceptions.RedisClusterException) and not isinstance(error, UnroutedCommandError):
        return "unreachable", text
    return "error", text


def client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments shared by ``Redis`` and ``RedisCluster`` (the endpoint aside)."""
    options: dict[str, Any] = {
        "socket_connect_timeout": settings.redis_connect_timeout_ms / 1000,
        "socket_timeout": settings.redis_socket_timeout_ms / 1000,
        "socket_keepalive": True,
        "retry": Retry(NoBackoff(), 0),
        "retry_on_timeout": False,
        "health_check_interval": 0,
        "decode_responses": False,
        "protocol": 2,  # RESP2: no HELLO, no maintenance notifications (RESP3 only)
        "driver_info": None,  # no CLIENT SETINFO (not in the access string)
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
            serverless=".serverless." in (urlsplit(settings.redis_url).hostname or ""),
        ))
    return options


def create_redis_client(settings: Settings) -> RedisClient:
    """A new client for ``settings.redis_url`` (``rediss://`` means TLS).

    Host, port, database and any credentials in the URL are read by redis-py's ``parse_url``
    (a query string is ignored: every option comes from the settings, which win over the URL).
    """
    parts = urlsplit(settings.redis_url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise CacheConfigurationError("REDIS_URL must be redis://host:port or rediss://host:port")
    options = parse_url(parts._replace(query="").geturl())
    if options.pop("connection_class", None) is SSLConnection:
        options.update(connection_class=TLSConnection, ssl_ca_certs=settings.redis_tls_ca_file or None)
    else:
        options["connection_class"] = TCPConnection
    options.update(client_options(settings))
    if "credential_provider" in options:
        options.pop("username", None)
        options.pop("password", None)
    host, port, db = options.pop("host"), options.pop("port", 6379), options.pop("db", 0)
    if settings.redis_cluster:
        # redis-py gives node pools our connection class only on its from-URL path, and a
        # rediss:// URL would replace the class with its own: the URL here is plain, the
        # class brings TLS. One attempt per command (``retry`` in the options): the breaker retries.
        return ElastiCacheCluster(url=f"redis://{host}:{port}", require_full_coverage=False, **options)
    return redis.Redis(connection_pool=redis.ConnectionPool(host=host, port=port, db=db, **options))


@lru_cache(maxsize=4)
def get_redis_client(settings: Settings) -> RedisClient:
    """The container's client for these settings, created once and reused across invocations."""
    return create_redis_client(settings)
