"""Invoke a function's handler in-process, as Lambda would.

The one module loader and the one Lambda context of the repository: the local server's
containers, the tests and the benchmarks all load ``functions/<name>/app.py`` with
:func:`load_module` and call its handler with a :class:`LambdaContext` built from the
function's entry in ``template.yaml`` (name, memory size, timeout).
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
import time
import uuid
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any

from local.specs import FunctionSpec, spec_for_folder
from local.template import LOCAL_ACCOUNT_ID, LOCAL_REGION

_module_counter = itertools.count()
_loaded: dict[str, FunctionSpec] = {}  # module name -> the function it was loaded for

# What in-process callers (tests, benchmarks) set before the layer is imported: Powertools
# reads its environment when its singletons are built, at import.
IN_PROCESS_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": "courses-api",
    "POWERTOOLS_METRICS_NAMESPACE": "CoursesApi",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_DEV": "false",
}


@dataclass
class LambdaContext:
    """The attributes and method of the Lambda Python runtime's context object."""

    function_name: str
    memory_limit_in_mb: int
    timeout_s: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None
    tenant_id: str | None = None
    _deadline: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s

    @classmethod
    def of(cls, spec: FunctionSpec, request_id: str | None = None) -> LambdaContext:
        """The context Lambda hands ``spec``'s handler: its name, memory and timeout."""
        return cls(function_name=spec.logical_id, memory_limit_in_mb=spec.memory_mb, timeout_s=spec.timeout_s,
                   aws_request_id=request_id or str(uuid.uuid4()))

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"{time.strftime('%Y/%m/%d')}/[{self.function_version}]local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_module(spec: FunctionSpec) -> ModuleType:
    """Import the function's handler file as a fresh module: a new Lambda container.

    The layer folders go on ``sys.path`` as ``/opt/python`` does in Lambda. The module is
    in ``sys.modules`` while it executes (so dataclasses and pydantic resolve annotations)
    and taken out afterwards, so a discarded container's clients can be collected.
    """
    for layer_dir in spec.layer_dirs:
        if str(layer_dir) not in sys.path:
            sys.path.insert(0, str(layer_dir))
    name = f"courses_fn_{spec.folder}_{next(_module_counter)}"
    module_spec = importlib.util.spec_from_file_location(name, spec.module_file)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot load {spec.module_file}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    _loaded[name] = spec
    return module


@cache
def _spec(folder: str) -> FunctionSpec:
    return spec_for_folder(folder)


def load_function(folder: str) -> ModuleType:
    """``functions/<folder>/app.py`` as a fresh module (a new container), per the template."""
    return load_module(_spec(folder))


def new_context(folder: str, request_id: str | None = None) -> LambdaContext:
    """A fresh context for the function whose code lives in ``functions/<folder>/``."""
    return LambdaContext.of(_spec(folder), request_id)


def context_for(module: ModuleType, request_id: str | None = None) -> LambdaContext:
    """A fresh context for one invocation of a module from :func:`load_module`."""
    return LambdaContext.of(_loaded[module.__name__], request_id)


def invoke(module: ModuleType, event: dict[str, Any], request_id: str | None = None) -> Any:
    """Call the module's handler with ``event`` and a context, as Lambda does; returns its result."""
    spec = _loaded[module.__name__]
    handler = getattr(module, spec.handler_name)
    return handler(event, LambdaContext.of(spec, request_id))
