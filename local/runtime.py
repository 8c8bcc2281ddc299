"""Everything ``make run`` brings up around the gateway: DynamoDB, Redis, data, streams.

Start order matters: tables and environment first (handlers read settings from the
environment), then the sample data, then the function containers and the stream pollers
(at ``LATEST``, so seeding does not replay through the invalidator), then the server.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from local.auth import InsecureSecretError, LocalAuth, key_file
from local.aws import create_tables, dynamodb_client, free_port, use_fake_aws_credentials
from local.functions import FunctionPool, load_functions
from local.redis_server import (
    DEFAULT_LOCAL_URL,
    MASK,
    ElastiCacheStandIn,
    is_reachable,
    masked_url,
    probe_redis,
    start_elasticache_standin,
)
from local.specs import ApiRoute, FunctionSpec, function_specs
from local.streams import StreamPoller
from local.template import REPO_ROOT, TEMPLATE_PATH, load_template, template_environment

log = logging.getLogger("local.runtime")

DEFAULT_PORT = 3000
DEFAULT_SEED_COURSES = 1000
# Local values for settings the template sets for AWS. ElastiCache is a TLS cluster with IAM
# auth; the local stand-in sets its own REDIS_* (password auth standing in for IAM), and a
# REDIS_URL given without them is taken for a single node without auth. The environment wins.
LOCAL_ENV_DEFAULTS = {
    "REDIS_CLUSTER": "false",
    "REDIS_AUTH_MODE": "none",
    "POWERTOOLS_SERVICE_NAME": "courses-api",
    "POWERTOOLS_METRICS_NAMESPACE": "CoursesApi",
    "POWERTOOLS_METRICS_DISABLED": "true",  # EMF lines on stdout are noise locally
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    # moto is far slower than DynamoDB (it deep-copies every table on each TransactWriteItems);
    # under load its answers can pass the layer's 2 s read timeout that suits DynamoDB.
    "DYNAMODB_READ_TIMEOUT_S": "5",
    # The template's 50 ms per Redis command suits a cache in the function's AZ; here TLS, three
    # shards and every container share a loaded developer machine.
    "REDIS_SOCKET_TIMEOUT_MS": "250",
}
TABLE_IDS = {"COURSES_TABLE": "CoursesTable", "ENROLLMENTS_TABLE": "EnrollmentsTable"}


@dataclass
class RunOptions:
    """``make run`` settings; each has an environment variable (see ``from_env``)."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    seed_courses: int = DEFAULT_SEED_COURSES
    redis_url: str | None = None  # None: not set (start one); "": no Redis tier
    dynamodb_endpoint: str = ""
    max_containers: int = max(2, os.cpu_count() or 2)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> RunOptions:
        env = os.environ if environ is None else environ
        return cls(
            host=env.get("HOST", "127.0.0.1"),
            port=int(env.get("PORT") or DEFAULT_PORT),
            seed_courses=int(env.get("SEED_COURSES") or DEFAULT_SEED_COURSES),
            redis_url=env.get("REDIS_URL"),
            dynamodb_endpoint=env.get("DYNAMODB_ENDPOINT", ""),
            max_containers=int(env.get("LOCAL_MAX_CONTAINERS") or max(2, os.cpu_count() or 2)),
        )


def with_token_environment(specs: dict[str, FunctionSpec], auth: LocalAuth) -> dict[str, FunctionSpec]:
    """Give the functions that verify tokens themselves the run's JWKS, issuer and app client: in
    AWS those values come from the stack (the JWKS custom resource, the user pool)."""
    return {
        lid: replace(spec, environment=(*spec.environment, *auth.environment().items()))
        if any(route.token_in_function for route in spec.routes) else spec
        for lid, spec in specs.items()
    }


class PortInUseError(RuntimeError):
    """Another process listens on the port; found before minutes of seeding, not after."""


def bind_listener(host: str, port: int) -> socket.socket:
    """Bind the API's socket first: fails fast when the port is taken, and keeps it ours.

    Helpers started afterwards (redis-server, moto) pick free ports; holding the bound
    socket guarantees none of them picks this one. uvicorn listens on it later.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as error:
        listener.close()
        raise PortInUseError(f"cannot listen on {host}:{port} ({error.strerror}); set PORT=...") from error
    listener.set_inheritable(True)
    return listener


def add_layers_to_path(specs: dict[str, FunctionSpec]) -> None:
    """Put the layer folders on ``sys.path``, as Lambda mounts layers at ``/opt/python``."""
    for spec in specs.values():
        for layer_dir in spec.layer_dirs:
            if str(layer_dir) not in sys.path:
                sys.path.insert(0, str(layer_dir))


@dataclass
class MotoProcess:
    """moto's server in a process of its own, so its CPU work does not hold the gateway's GIL."""

    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_moto_process(timeout_s: float = 30.0) -> MotoProcess:
    """Start moto (serialized: see ``local.aws.SerializedApp``) on 127.0.0.1 and a free port; wait for it."""
    use_fake_aws_credentials()
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "local.moto_server", "-p", str(port)],
        cwd=str(REPO_ROOT),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("moto's server did not start") from None
            time.sleep(0.1)
    return MotoProcess(process=process, url=f"http://127.0.0.1:{port}")


def ensure_cursor_secret(environ: dict[str, str] | None = None) -> str:
    """Give the functions a cursor key: a random one per run unless ``CURSOR_SECRET`` is set.

    Deployed functions refuse to start without a strong key; locally a fresh random key
    costs nothing (cursors are opaque and the in-memory data lives as long as the run).
    A configured key must be as strong as in AWS. Returns a note for the banner.
    """
    from courses_api.settings import cursor_secret_problem  # the layer is on sys.path by now

    env = os.environ if environ is None else environ
    configured = env.get("CURSOR_SECRET")
    if not configured:
        env["CURSOR_SECRET"] = secrets.token_urlsafe(32)
        return "random for this run (CURSOR_SECRET unset)"
    problem = cursor_secret_problem(configured)
    if problem is not None:
        raise InsecureSecretError(problem)
    return "from CURSOR_SECRET"


@dataclass
class LocalRuntime:
    """The running dependencies of the local API and what the banner says about them."""

    options: RunOptions
    specs: dict[str, FunctionSpec] = field(default_factory=dict)
    pools: dict[str, FunctionPool] = field(default_factory=dict)
    routes: list[ApiRoute] = field(default_factory=list)
    moto: MotoProcess | None = None
    standin: ElastiCacheStandIn | None = None
    redis_note: str = ""
    dynamodb_note: str = ""
    cursor_note: str = ""
    pollers: list[StreamPoller] = field(default_factory=list)
    seed_summary: Any = None
    tables: dict[str, str] = field(default_factory=dict)
    listener: socket.socket | None = None
    auth: LocalAuth = field(default_factory=LocalAuth.generate)  # the stand-in user pool of this run

    def start(self) -> None:
        """Bring up everything; on failure, stop what was started."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        self.listener = bind_listener(self.options.host, self.options.port)
        template = load_template(TEMPLATE_PATH)
        self.auth.save(key_file())  # the run's key pair (made with the runtime): its private half, for `make token`
        # Functions nothing invokes locally (the deploy-time JWKS custom resource) are not loaded.
        self.specs = with_token_environment(
            {lid: spec for lid, spec in function_specs(template).items() if spec.routes or spec.streams}, self.auth)
        add_layers_to_path(self.specs)
        self.cursor_note = ensure_cursor_secret()
        self._start_dynamodb()
        self._start_redis()
        for name, value in {**template_environment(template), **LOCAL_ENV_DEFAULTS}.items():
            os.environ.setdefault(name, value)
        self._seed()
        self.pools = load_functions(self.specs, self.options.max_containers)
        self.routes = [route for spec in self.specs.values() for route in spec.routes]
        self._start_streams()

    def _start_dynamodb(self) -> None:
        use_fake_aws_credentials()
        if self.options.dynamodb_endpoint:
            endpoint = self.options.dynamodb_endpoint
            self.dynamodb_note = f"{endpoint} (DYNAMODB_ENDPOINT)"
        else:
            self.moto = start_moto_process()
            endpoint = self.moto.url
            self.dynamodb_note = f"moto server at {endpoint} (in memory, gone on exit)"
        self.tables = create_tables(endpoint)

    def _start_redis(self) -> None:
        wanted = self.options.redis_url
        url = ""
        disabled = wanted == "" or (wanted or "").lower() == "none"
        # A Redis that answers but refuses (NOPERM, WRONGPASS) is used as it is: the API degrades
        # to BYPASS and /health says why, as the deployed stage would.
        failure = probe_redis(wanted) if wanted and not disabled else ("unreachable", "")
        if disabled:
            self.redis_note = "none (REDIS_URL is empty): no Redis tier, reads are BYPASS"
        elif wanted and (failure is None or failure[0] == "denied"):
            url = wanted
            self.redis_note = f"{masked_url(wanted)} (REDIS_URL)"
            if failure is not None:
                self.redis_note += f"; it REFUSES this configuration, every read is a BYPASS: {failure[1]}"
            if self.moto is not None and "CACHE_KEY_PREFIX" not in os.environ:
                # Fresh in-memory data must not meet cache entries of an earlier run.
                os.environ["CACHE_KEY_PREFIX"] = f"local-{secrets.token_hex(4)}"
                self.redis_note += f", keys prefixed {os.environ['CACHE_KEY_PREFIX']}"
        else:
            try:
                self._start_standin()
                assert self.standin is not None
                url = self.standin.url
                why = f"REDIS_URL {masked_url(wanted)} not reachable; " if wanted else ""
                self.redis_note = (
                    f"{url} ({why}ElastiCache stand-in: {len(self.standin.nodes)}-shard TLS cluster, default user off, "
                    f"user {self.standin.username} from template.yaml's AccessString, password {MASK}; "
                    "nothing kept on disk)"
                )
            except (FileNotFoundError, RuntimeError) as error:
                if not wanted and is_reachable(DEFAULT_LOCAL_URL):
                    url = DEFAULT_LOCAL_URL
                    os.environ.setdefault("CACHE_KEY_PREFIX", f"local-{secrets.token_hex(4)}")
                    self.redis_note = f"{url} (found running; keys prefixed {os.environ['CACHE_KEY_PREFIX']})"
                else:
                    self.redis_note = f"none ({error}): NO REDIS TIER, every read goes to DynamoDB (BYPASS)"
        os.environ["REDIS_URL"] = url

    def _start_standin(self) -> None:
        """The default: a stand-in built like the deployed ElastiCache Serverless cache."""
        template = load_template(TEMPLATE_PATH)
        prefix = os.environ.get("CACHE_KEY_PREFIX") or template_environment(template).get("CACHE_KEY_PREFIX", "courses")
        self.standin = start_elasticache_standin((prefix,))
        os.environ["CACHE_KEY_PREFIX"] = prefix
        os.environ.update(self.standin.environment())

    def _seed(self) -> None:
        count = self.options.seed_courses
        if count <= 0:
            return
        from local.seed import seed  # imports the layer, which is on sys.path only now

        client = dynamodb_client(os.environ["DYNAMODB_ENDPOINT"])
        courses = self.tables["COURSES_TABLE"]
        if client.scan(TableName=courses, Limit=1, Select="COUNT")["Count"]:  # startup only, not a request path
            log.info("the courses table already holds data; not seeding")
            return
        self.seed_summary = seed(client, courses, self.tables["ENROLLMENTS_TABLE"], count)

    def _start_streams(self) -> None:
        table_names = {logical: self.tables.get(env, "") for env, logical in TABLE_IDS.items()}
        for spec in self.specs.values():
            pool = self.pools.get(spec.logical_id)
            for subscription in spec.streams:
                table = table_names.get(subscription.table_id)
                if pool is None or not table:
                    continue
                poller = StreamPoller(os.environ["DYNAMODB_ENDPOINT"], table, subscription,
                                      pool.invoke, starting_position="LATEST")
                poller.start()
                poller.wait_ready()
                self.pollers.append(poller)

    def status(self) -> dict[str, Any]:
        """What the stream pollers did so far (served at ``/__local/status``)."""
        return {
            "streams": [
                {"table": p.table_name, "function": p.subscription.function_id, "alive": p.is_alive(),
                 "delivered": p.delivered, "batches": p.batches, "retries": p.retries, "dropped": p.dropped,
                 "discarded": p.discarded, "last_error": p.last_error}
                for p in self.pollers
            ]
        }

    def drain(self, rounds: int = 4) -> dict[str, Any]:
        """Deliver every stream record written so far, windows closed, until a round delivers nothing.

        A count written when the Enrollments window closes is a Courses record of its own,
        so rounds repeat until the streams are quiet.
        """
        for _ in range(rounds):
            before = sum(p.delivered + p.batches for p in self.pollers)
            for poller in self.pollers:
                poller.drain()
            if sum(p.delivered + p.batches for p in self.pollers) == before:
                break
        return self.status()

    def stop(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        for poller in self.pollers:
            poller.stop()
        self.pollers.clear()
        for pool in self.pools.values():
            pool.close()
        if self.standin is not None:
            self.standin.stop()
            self.standin = None
        if self.moto is not None:
            self.moto.stop()
            self.moto = None

    def banner(self, base_url: str) -> str:
        """What a developer needs on screen to start using the API."""
        summary = self.seed_summary
        instructor = summary.instructors[0] if summary else "instructor-1"
        token = self.auth.mint(instructor, ["instructors"])
        missing = sorted({route.function_id for route in self.routes} - set(self.pools))
        lines = [
            "",
            f"  Courses API (local)   {base_url}",
            f"  routes      {len(self.routes)} from {Path(TEMPLATE_PATH).name}"
            + (f" (no handler yet: {', '.join(missing)})" if missing else ""),
            f"  DynamoDB    {self.dynamodb_note}; tables {', '.join(sorted(self.tables.values()))}",
            f"  Redis       {self.redis_note}",
            "  streams     " + (", ".join(f"{p.table_name} -> {p.subscription.function_id}" for p in self.pollers)
                                or "none (no stream function loaded)"),
        ]
        if summary:
            lines.append(f"  sample data {summary.courses} courses, {summary.enrollments} enrollments, "
                         f"{len(summary.instructors)} instructors, {len(summary.students)} students")
        else:
            lines.append("  sample data none (SEED_COURSES=0 or the table already had data)")
        lines += [
            f"  docs        {base_url}/docs   (OpenAPI: {base_url}/openapi.json)",
            f"  auth        RS256 ID tokens, a key pair made for this run (private key: {key_file()});"
            " make token SUB=... GROUPS=instructors",
            f"  cursors     signed with a key {self.cursor_note or 'from CURSOR_SECRET'}",
            "",
            "  Try:",
            f"    curl -s '{base_url}/courses?category=data-science&limit=3'",
            f"    curl -s -H 'Authorization: Bearer {token}' \\",
            f"         '{base_url}/instructors/{instructor}/courses?limit=3'",
            "",
        ]
        return "\n".join(lines)
