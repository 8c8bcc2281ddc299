"""The functions of ``template.yaml``, loaded in-process as separate "containers".

Routes, authorizers, stream subscriptions, timeouts and memory sizes are read from the
template, so the local server cannot drift from what is deployed. Each function's
``app.py`` is imported under its own module name, so every function keeps its own module
state (its ``Container`` of clients and its near cache), as separate Lambda containers do.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from local.auth import AuthorizerSpec
from local.template import REPO_ROOT, TEMPLATE_PATH, load_template

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
SERVERLESS_API = "AWS::Serverless::Api"
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


class FunctionPool:
    """Warm "containers" of one function, each a separate import of its module.

    Lambda gives one request at a time to a container and starts another when all are
    busy; Powertools resolvers keep the current event on the module-level ``app``, so
    sharing one module between concurrent requests would mix them up. Idle containers are
    reused newest-first (warm), up to ``max_containers`` run at once, then callers wait.
    """

    def __init__(self, spec: FunctionSpec, max_containers: int = 8) -> None:
        self.spec = spec
        self.max_containers = max(1, max_containers)
        self._idle: list[tuple[ModuleType, Callable[[dict[str, Any], Any], Any]]] = []
        self._created = 0
        self._cond = threading.Condition()
        self.invocations = 0
        self.cold_starts = 0

    @property
    def containers(self) -> int:
        return self._created

    def warm(self) -> ModuleType:
        """Start one container now (fails fast on import errors); returns its module."""
        with self._cond:
            self._created += 1
        container = self._load_reserved()
        with self._cond:
            self._idle.append(container)
            self._cond.notify()
        return container[0]

    def any_module(self) -> ModuleType:
        """A module of this function (for reading its resolver, e.g. its OpenAPI schema)."""
        with self._cond:
            if self._idle:
                return self._idle[-1][0]
        return self.warm()

    def _load_reserved(self) -> tuple[ModuleType, Callable[[dict[str, Any], Any], Any]]:
        """Import a new container into a slot already counted in ``_created``."""
        try:
            module = load_module(self.spec)
            handler: Callable[[dict[str, Any], Any], Any] = getattr(module, self.spec.handler_name)
        except BaseException:
            with self._cond:
                self._created -= 1
                self._cond.notify()
            raise
        with self._cond:
            self.cold_starts += 1
        return module, handler

    def _acquire(self) -> tuple[ModuleType, Callable[[dict[str, Any], Any], Any]]:
        with self._cond:
            while not self._idle and self._created >= self.max_containers:
                self._cond.wait()
            if self._idle:
                return self._idle.pop()
            self._created += 1
        return self._load_reserved()

    def _release(self, container: tuple[ModuleType, Callable[[dict[str, Any], Any], Any]]) -> None:
        with self._cond:
            self._idle.append(container)
            self._cond.notify()

    def invoke(self, event: dict[str, Any], request_id: str | None = None) -> Any:
        """Call the handler in a free container, as the Lambda runtime would (one event, one context)."""
        container = self._acquire()
        try:
            with self._cond:
                self.invocations += 1
            return container[1](event, LambdaContext(self.spec, request_id))
        finally:
            self._release(container)


def load_functions(specs: dict[str, FunctionSpec], max_containers: int = 8) -> dict[str, FunctionPool]:
    """A warmed pool per function whose handler file exists (missing ones are left out)."""
    pools: dict[str, FunctionPool] = {}
    for logical_id, spec in specs.items():
        if spec.module_file.is_file():
            pool = FunctionPool(spec, max_containers)
            pool.warm()
            pools[logical_id] = pool
    return pools
