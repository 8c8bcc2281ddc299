"""Redis for tests and ``make run``: a stand-in built like ElastiCache Serverless, or a plain server.

:func:`start_elasticache_standin` starts what the deployed functions meet: cluster mode
(three shards, no replicas), TLS only (a CA and server certificate generated for the run),
the ``default`` user switched off, and the cache user created from the ``AccessString`` of
``template.yaml``'s ``CacheAppUser`` (parameters substituted) with a password standing in
for the IAM token. An ``admin`` user exists for the harness only (flush, inspect, audit).

Debian bookworm packages no Valkey (the template's engine), so the nodes are redis-server
7.0, whose ACL rules, cluster protocol and command set are the ones Valkey 7.2 forked.

:func:`start_redis_server` is a plain, password-less single node: the benchmarks and the
tests that freeze or kill a server of their own use it.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from local.aws import free_port

if TYPE_CHECKING:
    from redis.cluster import RedisCluster

DEFAULT_LOCAL_URL = "redis://127.0.0.1:6379/0"
CLUSTER_SLOTS = 16384
CLUSTER_BUS_OFFSET = 10000  # Redis Cluster's bus listens on the client port + 10000
MAX_PORT = 65535
CACHE_USER = "courses-app"  # the template's UserName is "<stack>-app"
ADMIN_USER = "standin-admin"
START_TIMEOUT_S = 20


def is_reachable(url: str) -> bool:
    """True when a PING to ``url`` is answered within half a second (a refusal, NOAUTH, counts:
    the server is up)."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.AuthenticationError:
        return True
    except redis.RedisError:
        return False


MASK = "****"


def masked_url(url: str | None) -> str:
    """``url`` with its password replaced by ``****`` (for banners and logs)."""
    from urllib.parse import urlsplit, urlunsplit

    if not url:
        return ""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}:" if parts.username else ":"
    host = parts.hostname or ""
    netloc = f"{user}{MASK}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def probe_redis(url: str, environ: dict[str, str] | None = None) -> tuple[str, str] | None:
    """PING ``url`` with a client built as the functions build theirs (the REDIS_* settings of
    ``environ``, default the process's): ``None`` when it answers, else the failure's cause
    (``denied``, ``timed_out``, ``unreachable``) and Redis's error text."""
    import secrets as _secrets

    from courses_api.cache.client import create_redis_client, failure_cause  # the layer is on sys.path by now
    from courses_api.settings import Settings

    source = os.environ if environ is None else environ
    values: dict[str, Any] = {name.lower(): value for name, value in source.items() if name.startswith("REDIS_")}
    values.update(redis_url=url, redis_connect_timeout_ms=1000, redis_socket_timeout_ms=1000,
                  courses_table="probe", enrollments_table="probe", cursor_secret=_secrets.token_urlsafe(32))
    try:
        client = create_redis_client(Settings.model_validate(values))
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, redis.exceptions.RedisClusterException, OSError) as error:
        return failure_cause(error)
    except ValueError as error:
        return ("error", str(error))
    return None


@dataclass
class LocalRedis:
    """A Redis URL and, when we started the server, its process (to stop, freeze or thaw)."""

    url: str
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    workdir: str = field(default="")
    args: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                os.kill(self.process.pid, signal.SIGCONT)  # a frozen server cannot handle SIGTERM
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def freeze(self) -> None:
        """SIGSTOP: the server keeps its sockets open and answers nothing (a hung node)."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)


def _binary() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not installed (apt-get install redis-server)")
    return binary


def start_redis_server(port: int | None = None, *extra_args: str) -> LocalRedis:
    """Start a throw-away, password-less ``redis-server`` on loopback (nothing kept on disk)."""
    binary = _binary()
    port = port or free_port()
    workdir = tempfile.mkdtemp(prefix="courses-redis-")
    args = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
            "--dir", workdir, *extra_args]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not is_reachable(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"redis-server did not start on port {port}")
        time.sleep(0.05)
    return LocalRedis(url=url, process=process, port=port, workdir=workdir, args=args)


def ensure_redis(preferred_url: str = DEFAULT_LOCAL_URL) -> LocalRedis | None:
    """The Redis at ``preferred_url`` if it answers, else a new local server, else None."""
    if preferred_url and is_reachable(preferred_url):
        return LocalRedis(url=preferred_url)
    try:
        return start_redis_server()
    except (FileNotFoundError, RuntimeError):
        return None


# ------------------------------------------------------------------ the ElastiCache stand-in


def template_access_string(key_prefix: str) -> str:
    """``CacheAppUser``'s ``AccessString`` as committed in ``template.yaml``, for ``key_prefix``.

    Read from the template (never from the code), so the stand-in grants exactly what a
    deployed cache grants.
    """
    from local.template import load_template, resolve_in

    template = load_template()
    access = template["Resources"]["CacheAppUser"]["Properties"]["AccessString"]
    text = access["Fn::Sub"] if isinstance(access, dict) else access
    text = text[0] if isinstance(text, list) else text
    return str(resolve_in(template, {"Fn::Sub": [text, {"CacheKeyPrefix": key_prefix}]}))


def cache_user_rules(key_prefixes: Sequence[str]) -> list[str]:
    """ACL rules of the cache user: the template's access string once per key prefix.

    Rules add up (each ``~pattern`` adds a pattern; the command rules repeat), so the user
    may reach each prefix the harness uses and nothing else.
    """
    rules: list[str] = []
    for prefix in key_prefixes:
        for word in template_access_string(prefix).split():
            if word not in rules:
                rules.append(word)
    return rules


@dataclass(frozen=True)
class Certificates:
    """A CA and a server certificate for 127.0.0.1 / localhost (PEM files)."""

    ca_file: str
    cert_file: str
    key_file: str


def generate_certificates(directory: str) -> Certificates:
    """A throw-away CA and a server certificate it signed (ElastiCache's TLS is always on)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Courses API local CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                       critical=False)
        # Python 3.13's default context verifies strictly (RFC 5280): key identifiers required.
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = Certificates(*(str(Path(directory) / name) for name in ("ca.pem", "server.pem", "server.key")))
    Path(paths.ca_file).write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    Path(paths.cert_file).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    Path(paths.key_file).write_bytes(key_pem)
    os.chmod(paths.key_file, 0o600)
    return paths


def _free_cluster_port() -> int:
    """A free port whose cluster-bus port (+10000) is free too."""
    import socket

    for _ in range(200):
        port = free_port()
        if port + CLUSTER_BUS_OFFSET <= MAX_PORT:
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port + CLUSTER_BUS_OFFSET))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port pair for a cluster node")


@dataclass
class ElastiCacheStandIn:
    """A running stand-in: its nodes, its CA, the cache user's and the harness's credentials."""

    nodes: list[LocalRedis]
    workdir: str
    certificates: Certificates
    username: str
    password: str  # stands in for the IAM token
    admin_password: str
    key_prefixes: tuple[str, ...]
    rules: list[str]
    _admins: dict[int, redis.Redis] = field(default_factory=dict, repr=False)

    @property
    def url(self) -> str:
        """The configuration endpoint the functions get (no credentials in it)."""
        return f"rediss://127.0.0.1:{self.nodes[0].port}"

    def environment(self) -> dict[str, str]:
        """The functions' Redis settings for this stand-in (as the template sets them in AWS,
        with password auth standing in for IAM and the stand-in's CA)."""
        return {
            "REDIS_URL": self.url,
            "REDIS_CLUSTER": "true",
            "REDIS_AUTH_MODE": "password",
            "REDIS_USERNAME": self.username,
            "REDIS_PASSWORD": self.password,
            "REDIS_TLS_CA_FILE": self.certificates.ca_file,
        }

    def admin_options(self) -> dict[str, Any]:
        return {
            "username": ADMIN_USER, "password": self.admin_password, "ssl": True,
            "ssl_ca_certs": self.certificates.ca_file, "protocol": 2, "driver_info": None,
            "socket_timeout": 5, "socket_connect_timeout": 5, "retry": Retry(NoBackoff(), 1),
        }

    def node_client(self, node: LocalRedis) -> redis.Redis:
        """The harness's admin connection to one node (inspection, faults; kept open, so an
        audit adds no AUTH of its own); never what the product uses."""
        client = self._admins.get(node.port)
        if client is None:
            client = self._admins[node.port] = redis.Redis(host="127.0.0.1", port=node.port, **self.admin_options())
        return client

    def admin_client(self) -> RedisCluster:
        """An admin cluster client, for arranging and inspecting keys (``KEYS`` and ``INFO``
        answer for the whole cluster, as on one server)."""
        return _admin_cluster_class()(host="127.0.0.1", port=self.nodes[0].port, **self.admin_options())

    def flush(self) -> None:
        for node in self.live_nodes():
            self.node_client(node).flushall()

    def live_nodes(self) -> list[LocalRedis]:
        return [node for node in self.nodes if node.process is not None]

    def node_on_port(self, port: int) -> LocalRedis:
        """The node listening on ``port`` (e.g. the owner of a key, from the cluster client)."""
        return next(node for node in self.nodes if node.port == port)

    def restart(self, node: LocalRedis) -> None:
        """Start a stopped node again on its port, with its cluster identity (nodes.conf)."""
        if node.process is not None:
            node.stop()
        stale = self._admins.pop(node.port, None)
        if stale is not None:
            stale.close()
        node.process = subprocess.Popen(node.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
        self._wait_answering(node)
        self._wait_cluster_ok()

    def stop(self) -> None:
        for client in self._admins.values():
            client.close()
        self._admins.clear()
        for node in self.nodes:
            node.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # ------------------------------------------------------------------ start-up

    def _wait_answering(self, node: LocalRedis) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if self.node_client(node).ping():
                    return
            except (redis.RedisError, ssl.SSLError, OSError):
                pass
            if (node.process is not None and node.process.poll() is not None) or time.monotonic() > deadline:
                log = Path(node.workdir) / "redis.log"
                detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise RuntimeError(f"stand-in node on port {node.port} did not start: {detail}")
            time.sleep(0.05)

    def _wait_cluster_ok(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            states = []
            for node in self.live_nodes():
                info = self.node_client(node).cluster("INFO")
                states.append(str(info.get("cluster_state")) == "ok"
                              and int(info.get("cluster_known_nodes", 0)) == len(self.nodes))
            if all(states):
                return
            if time.monotonic() > deadline:
                raise RuntimeError("the stand-in cluster did not reach state ok on every node")
            time.sleep(0.1)


def _summed(infos: Sequence[Any]) -> Any:
    """Per-node ``INFO`` answers as one: numbers summed, sections merged, the rest from the first."""
    if all(isinstance(info, dict) for info in infos):
        keys = dict.fromkeys(key for info in infos for key in info)
        return {key: _summed([info[key] for info in infos if key in info]) for key in keys}
    if all(isinstance(info, int | float) and not isinstance(info, bool) for info in infos):
        return sum(infos)
    return infos[0]


@lru_cache(maxsize=1)
def _admin_cluster_class() -> type[RedisCluster]:
    from redis.cluster import RedisCluster

    class AdminCluster(RedisCluster):
        """The harness's cluster client: ``KEYS`` over every primary, ``INFO`` summed over them."""

        def keys(self, pattern: Any = "*", **kwargs: Any) -> Any:
            return self.execute_command("KEYS", pattern, target_nodes=self.PRIMARIES, **kwargs)  # type: ignore[no-untyped-call]

        def info(self, section: Any = None, *args: Any, **kwargs: Any) -> Any:
            pieces = [section, *args] if section is not None else []
            answers = self.execute_command("INFO", *pieces, target_nodes=self.PRIMARIES, **kwargs)  # type: ignore[no-untyped-call]
            return _summed(list(answers.values())) if isinstance(answers, dict) else answers

    return AdminCluster


def _node_config(port: int, workdir: str, standin: ElastiCacheStandIn) -> str:
    certs = standin.certificates
    lines = [
        "bind 127.0.0.1", "port 0", f"tls-port {port}", "protected-mode yes",
        f"tls-cert-file {certs.cert_file}", f"tls-key-file {certs.key_file}", f"tls-ca-cert-file {certs.ca_file}",
        "tls-auth-clients no", "tls-cluster yes", "tls-replication yes",
        "cluster-enabled yes", f"cluster-config-file nodes-{port}.conf", "cluster-node-timeout 2000",
        "cluster-require-full-coverage no",
        'save ""', "appendonly no", f"dir {workdir}", f"logfile {workdir}/redis.log",
        "acllog-max-len 1024",
        "user default off resetpass -@all",
        f"user {ADMIN_USER} on >{standin.admin_password} ~* &* +@all",
        f"user {standin.username} reset {' '.join(standin.rules)} >{standin.password}",
    ]
    return "\n".join(lines) + "\n"


def start_elasticache_standin(
    key_prefixes: Sequence[str] = ("courses",), *, shards: int = 3, username: str = CACHE_USER,
) -> ElastiCacheStandIn:
    """Start ``shards`` TLS cluster nodes with the template's cache user, joined into one cluster."""
    binary = _binary()
    workdir = tempfile.mkdtemp(prefix="courses-elasticache-")
    certificates = generate_certificates(workdir)
    password, admin_password = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    rules = cache_user_rules(key_prefixes)
    nodes: list[LocalRedis] = []
    standin = ElastiCacheStandIn(nodes, workdir, certificates, username, password, admin_password,
                                 tuple(key_prefixes), rules)
    try:
        for _ in range(shards):
            port = _free_cluster_port()
            node_dir = str(Path(workdir) / f"node-{port}")
            os.mkdir(node_dir)
            config = Path(node_dir) / "redis.conf"
            config.write_text(_node_config(port, node_dir, standin))
            config.chmod(0o600)
            args = [binary, str(config)]
            process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
            nodes.append(LocalRedis(url=f"rediss://127.0.0.1:{port}", process=process, port=port,
                                    workdir=node_dir, args=args))
        for node in nodes:
            standin._wait_answering(node)
        for index, node in enumerate(nodes):
            first, last = index * CLUSTER_SLOTS // shards, (index + 1) * CLUSTER_SLOTS // shards - 1
            client = standin.node_client(node)
            client.execute_command("CLUSTER ADDSLOTSRANGE", first, last)
            for other in nodes:
                if other is not node:
                    client.execute_command("CLUSTER MEET", "127.0.0.1", other.port)
        standin._wait_cluster_ok()
    except BaseException:
        standin.stop()
        raise
    return standin
