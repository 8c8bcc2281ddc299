"""The functions of ``template.yaml``: code, handler, memory, timeout, routes and streams.

Everything is read from the template through :mod:`local.template`'s one resolver, so
``MemorySize: !Ref FunctionMemorySize`` is the parameter's default here as it is in AWS,
and the local server, the tests and the benchmarks cannot drift from what is deployed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local.apigw import SERVERLESS_API
from local.auth import AuthorizerSpec
from local.template import REPO_ROOT, TEMPLATE_PATH, Unresolvable, load_template, resolve_in, template_environment

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
SERVERLESS_LAYER = "AWS::Serverless::LayerVersion"
TOKEN_JWKS = "TOKEN_JWKS"  # noqa: S105 - a variable name: the functions that verify tokens (courses_api.tokens)
# What Lambda uses when neither the function nor Globals set a value.
DEFAULT_TIMEOUT_S = 3
DEFAULT_MEMORY_MB = 128


@dataclass(frozen=True, slots=True)
class ApiRoute:
    """One ``Type: Api`` event of a function: what API Gateway routes to it."""

    function_id: str
    path: str
    method: str
    authorizer: AuthorizerSpec | None
    rest_api_id: str | None = None
    request_model: str | None = None  # name in the API's ``Models``, validated by the gateway
    # No authorizer, but the function verifies a bearer token itself (TOKEN_JWKS in its environment).
    token_in_function: bool = False


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
    tumbling_window_s: int = 0  # TumblingWindowInSeconds: 0 means no window (stateless batches)


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


def _api_route(template: dict[str, Any], logical_id: str, props: dict[str, Any]) -> ApiRoute:
    api_id = _ref(props.get("RestApiId"))
    return ApiRoute(
        function_id=logical_id,
        path=str(props["Path"]),
        method=str(props["Method"]).upper(),
        authorizer=_route_authorizer(template, api_id, props.get("Auth")),
        rest_api_id=api_id,
        request_model=_validated_model(props.get("RequestModel")),
        token_in_function=TOKEN_JWKS in (
            (template["Resources"][logical_id].get("Properties", {}).get("Environment") or {}).get("Variables") or {}),
    )


def _stream_subscription(logical_id: str, props: dict[str, Any]) -> StreamSubscription:
    stream = props.get("Stream")
    table_id = stream["Fn::GetAtt"][0] if isinstance(stream, dict) and "Fn::GetAtt" in stream else ""
    return StreamSubscription(
        function_id=logical_id,
        table_id=str(table_id),
        batch_size=int(props.get("BatchSize", 100)),
        starting_position=str(props.get("StartingPosition", "LATEST")),
        maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
        report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
        bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
        tumbling_window_s=int(props.get("TumblingWindowInSeconds", 0)),
    )


def _number(template: dict[str, Any], value: Any, default: int) -> int:
    """A template number, literal or ``!Ref`` to a parameter (its default); Lambda's default when unset."""
    if value is None:
        return default
    try:
        return int(resolve_in(template, value))
    except (Unresolvable, ValueError, TypeError) as error:
        raise ValueError(f"cannot evaluate {value!r} locally: {error}") from error


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
        events = [(event.get("Type"), event.get("Properties", {})) for event in (props.get("Events") or {}).values()]
        layers = list(globals_.get("Layers", [])) + list(props.get("Layers", []))
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            code_dir=(root / code_uri).resolve(),
            handler=str(props.get("Handler", globals_.get("Handler", "app.lambda_handler"))),
            timeout_s=_number(template, props.get("Timeout", globals_.get("Timeout")), DEFAULT_TIMEOUT_S),
            memory_mb=_number(template, props.get("MemorySize", globals_.get("MemorySize")), DEFAULT_MEMORY_MB),
            layer_dirs=_layer_dirs(template, layers, root),
            environment=tuple(template_environment(
                template, (props.get("Environment") or {}).get("Variables") or {}
            ).items()),
            routes=tuple(_api_route(template, logical_id, p) for kind, p in events if kind == "Api"),
            streams=tuple(_stream_subscription(logical_id, p) for kind, p in events if kind == "DynamoDB"),
        )
    return specs


def spec_for_folder(folder: str, template: dict[str, Any] | None = None) -> FunctionSpec:
    """The function whose code lives in ``functions/<folder>/``."""
    for spec in function_specs(template).values():
        if spec.folder == folder:
            return spec
    raise KeyError(f"no function in the template has its code in functions/{folder}/")
