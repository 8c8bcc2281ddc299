"""The functions of ``template.yaml``, loaded in-process as separate "containers".

Routes, authorizers, stream subscriptions, timeouts and memory sizes are read from the
template, so the local server cannot drift from what is deployed. Each function's
``app.py`` is imported under its own module name, so every function keeps its own module
state (its ``Container`` of clients and its near cache), as separate Lambda containers do.
"""

from __future__ import annotations

import contextlib
import importlib.util
import itertools
import multiprocessing
import os
import pickle
import signal
import sys
import threading
import time
import traceback
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import ModuleType
from typing import Any

from local.apigw import SERVERLESS_API, template_environment
from local.auth import AuthorizerSpec
from local.template import REPO_ROOT, TEMPLATE_PATH, load_template

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
SERVERLESS_LAYER = "AWS::Serverless::LayerVersion"
DEFAULT_TIMEOUT_S = 3
DEFAULT_MEMORY_MB = 128
LOCAL_ACCOUNT_ID = "123456789012"


@dataclass(frozen=True, slots=True)
class ApiRoute:
    """One ``Type: Api`` event of a function: what API Gateway routes to it."""

    function_id: str
    path: str
    method: str
    authorizer: AuthorizerSpec | None
    rest_api_id: str | None = None
    request_model: str | None = None  # name in the API's ``Models``, validated by the gateway


@dataclass(frozen=True, slots=True)
class StreamSubscription:
    """One ``Type: DynamoDB`` event: an event source mapping on a table's stream."""

    function_id: str
    table_id: str
    batch_size: int = 100
    starting_position: str = "LATEST"
    maximum_retry_attempts: int = -1
    report_batch_item_failures: bool = False
    bisect_on_error: bool = False


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """What the local runtime needs to know about one function."""

    logical_id: str
    code_dir: Path
    handler: str
    timeout_s: int
    memory_mb: int
    layer_dirs: tuple[Path, ...] = ()
    routes: tuple[ApiRoute, ...] = ()
    streams: tuple[StreamSubscription, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()  # the function's own variables (over Globals)

    @property
    def module_file(self) -> Path:
        module, _, _ = self.handler.rpartition(".")
        return self.code_dir / f"{module.replace('.', '/')}.py"

    @property
    def handler_name(self) -> str:
        return self.handler.rpartition(".")[2]

    @property
    def folder(self) -> str:
        return self.code_dir.name


def _ref(value: Any) -> str | None:
    """The logical id of ``!Ref X`` / ``!GetAtt X.Arn`` (or a plain string), else ``None``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


def _function_globals(template: dict[str, Any]) -> dict[str, Any]:
    globals_: dict[str, Any] = template.get("Globals", {}).get("Function", {})
    return globals_


def _api_auth(template: dict[str, Any], api_id: str | None) -> dict[str, Any]:
    """The ``Auth`` block of a ``AWS::Serverless::Api`` (merged over ``Globals.Api``)."""
    auth: dict[str, Any] = dict(template.get("Globals", {}).get("Api", {}).get("Auth", {}))
    if api_id:
        resource = template.get("Resources", {}).get(api_id, {})
        if resource.get("Type") == SERVERLESS_API:
            auth.update(resource.get("Properties", {}).get("Auth", {}))
    return auth


def authorizer_specs(template: dict[str, Any], api_id: str | None) -> dict[str, AuthorizerSpec]:
    """Authorizer name → kind, from the API's ``Auth.Authorizers`` block."""
    specs: dict[str, AuthorizerSpec] = {}
    for name, configured in _api_auth(template, api_id).get("Authorizers", {}).items():
        props = configured or {}
        if "UserPoolArn" in props:
            kind = "cognito"
        elif "FunctionArn" in props:
            kind = "lambda"
        else:
            kind = "cognito" if "cognito" in name.lower() else "lambda"
        specs[name] = AuthorizerSpec(name=name, kind=kind)
    return specs


def _route_authorizer(
    template: dict[str, Any], api_id: str | None, event_auth: dict[str, Any] | None
) -> AuthorizerSpec | None:
    """The authorizer guarding one route: the event's, else the API's default; ``NONE`` = open."""
    api_auth = _api_auth(template, api_id)
    name = (event_auth or {}).get("Authorizer") or api_auth.get("DefaultAuthorizer")
    if not name or name in {"NONE", "AWS_IAM"}:
        return None
    specs = authorizer_specs(template, api_id)
    if name not in specs:
        kind = "cognito" if "cognito" in str(name).lower() else "lambda"
        return AuthorizerSpec(name=str(name), kind=kind)
    return specs[name]


def _validated_model(request_model: Any) -> str | None:
    """The model API Gateway validates the body against (``ValidateBody: true``), if any."""
    if isinstance(request_model, dict) and request_model.get("ValidateBody") is True and request_model.get("Model"):
        return str(request_model["Model"])
    return None


def _layer_dirs(template: dict[str, Any], layers: list[Any], root: Path) -> tuple[Path, ...]:
    resources = template.get("Resources", {})
    dirs: list[Path] = []
    for layer in layers:
        layer_id = _ref(layer)
        resource = resources.get(layer_id or "", {})
        if resource.get("Type") != SERVERLESS_LAYER:
            continue
        content = resource.get("Properties", {}).get("ContentUri")
        if isinstance(content, str):
            dirs.append((root / content).resolve())
    return tuple(dirs)


def function_specs(template: dict[str, Any] | None = None, root: Path = REPO_ROOT) -> dict[str, FunctionSpec]:
    """Every ``AWS::Serverless::Function`` of the template, with its routes and streams."""
    template = template if template is not None else load_template(TEMPLATE_PATH)
    globals_ = _function_globals(template)
    specs: dict[str, FunctionSpec] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != SERVERLESS_FUNCTION:
            continue
        props: dict[str, Any] = resource.get("Properties", {})
        code_uri = props.get("CodeUri", globals_.get("CodeUri"))
        if not isinstance(code_uri, str):
            continue
        routes: list[ApiRoute] = []
        streams: list[StreamSubscription] = []
        for event in (props.get("Events") or {}).values():
            kind = event.get("Type")
            eprops: dict[str, Any] = event.get("Properties", {})
            if kind == "Api":
                api_id = _ref(eprops.get("RestApiId"))
                routes.append(
                    ApiRoute(
                        function_id=logical_id,
                        path=str(eprops["Path"]),
                        method=str(eprops["Method"]).upper(),
                        authorizer=_route_authorizer(template, api_id, eprops.get("Auth")),
                        rest_api_id=api_id,
                        request_model=_validated_model(eprops.get("RequestModel")),
                    )
                )
            elif kind == "DynamoDB":
                stream = eprops.get("Stream")
                table_id = stream["Fn::GetAtt"][0] if isinstance(stream, dict) and "Fn::GetAtt" in stream else ""
                streams.append(
                    StreamSubscription(
                        function_id=logical_id,
                        table_id=str(table_id),
                        batch_size=int(eprops.get("BatchSize", 100)),
                        starting_position=str(eprops.get("StartingPosition", "LATEST")),
                        maximum_retry_attempts=int(eprops.get("MaximumRetryAttempts", -1)),
                        report_batch_item_failures="ReportBatchItemFailures"
                        in (eprops.get("FunctionResponseTypes") or []),
                        bisect_on_error=bool(eprops.get("BisectBatchOnFunctionError", False)),
                    )
                )
        layers = list(globals_.get("Layers", [])) + list(props.get("Layers", []))
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_dir=(root / code_uri).resolve(),
            handler=str(props.get("Handler", globals_.get("Handler", "app.lambda_handler"))),
            timeout_s=_int_or(props.get("Timeout", globals_.get("Timeout")), DEFAULT_TIMEOUT_S),
            memory_mb=_int_or(props.get("MemorySize", globals_.get("MemorySize")), DEFAULT_MEMORY_MB),
            layer_dirs=_layer_dirs(template, layers, root),
            environment=tuple(template_environment(
                template, (props.get("Environment") or {}).get("Variables") or {}
            ).items()),
            routes=tuple(routes),
            streams=tuple(streams),
        )
    return specs


def _int_or(value: Any, default: int) -> int:
    """Template numbers may be ``!Ref`` parameters; locally those fall back to the default."""
    return value if isinstance(value, int) else default


class LambdaContext:
    """The attributes and method of the Lambda Python runtime's context object."""

    def __init__(self, spec: FunctionSpec, request_id: str | None = None) -> None:
        self.function_name = spec.logical_id
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:{LOCAL_ACCOUNT_ID}:function:{spec.logical_id}"
        )
        self.memory_limit_in_mb = spec.memory_mb
        self.aws_request_id = request_id or str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{spec.logical_id}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]local"
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = time.monotonic() + spec.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


_module_counter = itertools.count()


def load_module(spec: FunctionSpec) -> ModuleType:
    """Import the function's handler file under a unique name (its own module state).

    The layer folders go on ``sys.path`` as ``/opt/python`` does in Lambda; the module is
    registered in ``sys.modules`` so dataclasses and pydantic can resolve its annotations.
    """
    for layer_dir in spec.layer_dirs:
        if str(layer_dir) not in sys.path:
            sys.path.insert(0, str(layer_dir))
    name = f"courses_local_fn_{spec.folder}_{next(_module_counter)}"
    module_spec = importlib.util.spec_from_file_location(name, spec.module_file)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {spec.module_file}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


# Imported once by the fork server, so a new container starts in milliseconds instead of
# re-importing boto3, Powertools and pydantic (a cold start of ~1.5 s per process here).
PRELOAD = [
    "local.functions",
    "boto3",
    "botocore.client",
    "pydantic",
    "redis",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.idempotency",
    "courses_api.container",
    "courses_api.http.resolver",
]


def _container_context() -> Any:
    """``forkserver`` where available: clean forks of a preloaded, single-threaded process."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


class FunctionError(Exception):
    """The handler raised (Lambda reports a function error; API Gateway answers 502)."""


class FunctionTimeoutError(Exception):
    """The handler ran past the function's timeout; its container was killed, as Lambda does."""


class FunctionCrashedError(Exception):
    """The container process died mid-invocation."""


def _container_main(spec: FunctionSpec, conn: Connection) -> None:
    """One function container: import the handler once, then serve one event at a time."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the server; it stops us
    os.environ.update(dict(spec.environment))  # this function's own variables, as in its Lambda
    try:
        module = load_module(spec)
        handler = getattr(module, spec.handler_name)
    except BaseException as error:  # report the init error to the parent, as Lambda does
        conn.send(("init-error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the server went away
        if message is None:
            return
        event, request_id = message
        try:
            result = handler(event, LambdaContext(spec, request_id))
        except Exception as error:
            conn.send(("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}"))
            continue
        try:
            conn.send(("ok", result))
        except (TypeError, ValueError, AttributeError, pickle.PicklingError) as error:
            conn.send(("error", f"response not serialisable: {error}"))


@dataclass
class _Container:
    process: BaseProcess
    conn: Connection


class FunctionPool:
    """Warm "containers" of one function, each its own process, like Lambda's execution environments.

    Lambda gives a container one request at a time and starts another when all are busy.
    Separate processes matter here: Powertools keeps the current event in class attributes
    shared by every resolver of a process, so concurrent requests in one process would read
    each other's events. Each container also keeps its own clients and near cache, so
    cross-container staleness shows locally as it does in AWS. Idle containers are reused
    newest-first (warm), up to ``max_containers`` run at once, then callers wait; a container
    that times out is killed and replaced.
    """

    def __init__(self, spec: FunctionSpec, max_containers: int = 4) -> None:
        self.spec = spec
        self.max_containers = max(1, max_containers)
        self._idle: list[_Container] = []
        self._created = 0
        self._cond = threading.Condition()
        self._context = _container_context()
        self._module: ModuleType | None = None
        self.invocations = 0
        self.cold_starts = 0

    @property
    def containers(self) -> int:
        return self._created

    def warm(self) -> None:
        """Start one container now (fails fast on import errors)."""
        with self._cond:
            self._created += 1
        container = self._start_reserved()
        self._release(container)

    def any_module(self) -> ModuleType:
        """The function's module imported in this process, to read its resolver (e.g. its OpenAPI schema)."""
        if self._module is None:
            self._module = load_module(self.spec)
        return self._module

    def _start_reserved(self) -> _Container:
        """Spawn a container into a slot already counted in ``_created``."""
        try:
            parent, child = self._context.Pipe()
            process = self._context.Process(target=_container_main, args=(self.spec, child), daemon=True,
                                            name=f"lambda-{self.spec.logical_id}")
            process.start()
            child.close()
            status, detail = parent.recv()
            if status != "ready":
                process.join(5)
                raise ImportError(f"{self.spec.logical_id} failed to initialise: {detail}")
        except BaseException:
            with self._cond:
                self._created -= 1
                self._cond.notify()
            raise
        with self._cond:
            self.cold_starts += 1
        return _Container(process=process, conn=parent)

    def _acquire(self) -> _Container:
        with self._cond:
            while not self._idle and self._created >= self.max_containers:
                self._cond.wait()
            if self._idle:
                return self._idle.pop()
            self._created += 1
        return self._start_reserved()

    def _release(self, container: _Container) -> None:
        with self._cond:
            self._idle.append(container)
            self._cond.notify()

    def _discard(self, container: _Container) -> None:
        container.process.kill()
        container.process.join(5)
        container.conn.close()
        with self._cond:
            self._created -= 1
            self._cond.notify()

    def invoke(self, event: dict[str, Any], request_id: str | None = None) -> Any:
        """Call the handler in a free container with one event; raises the ``Function*`` errors."""
        container = self._acquire()
        healthy = False
        try:
            with self._cond:
                self.invocations += 1
            container.conn.send((event, request_id))
            if not container.conn.poll(self.spec.timeout_s):
                raise FunctionTimeoutError(f"{self.spec.logical_id} timed out after {self.spec.timeout_s} s")
            status, payload = container.conn.recv()
            healthy = True
        except (EOFError, OSError) as error:
            raise FunctionCrashedError(f"{self.spec.logical_id} container exited") from error
        finally:
            if healthy:
                self._release(container)
            else:
                self._discard(container)
        if status == "error":
            raise FunctionError(payload)
        return payload

    def close(self) -> None:
        """Stop every idle container (busy ones are daemons and die with the server)."""
        with self._cond:
            idle, self._idle = self._idle, []
        for container in idle:
            with contextlib.suppress(OSError):
                container.conn.send(None)
            container.process.join(2)
            if container.process.is_alive():
                container.process.kill()
            container.conn.close()


def load_functions(
    specs: dict[str, FunctionSpec], max_containers: int = 4, warm: bool = True
) -> dict[str, FunctionPool]:
    """A pool per function whose handler file exists, each with one warm container (started in parallel)."""
    pools = {lid: FunctionPool(spec, max_containers) for lid, spec in specs.items() if spec.module_file.is_file()}
    if warm:
        with ThreadPoolExecutor(max_workers=max(1, len(pools))) as executor:
            list(executor.map(FunctionPool.warm, pools.values()))
    return pools
