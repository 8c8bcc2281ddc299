"""Invoke a function's handler in-process, as Lambda would: tests and benchmarks share this."""

from __future__ import annotations

import importlib.util
import itertools
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from local.template import REPO_ROOT

FUNCTIONS_DIR = REPO_ROOT / "functions"
LAYER_DIR = REPO_ROOT / "layers" / "shared"
_module_counter = itertools.count()

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
class FakeLambdaContext:
    """The attributes of Lambda's context object that Powertools reads."""

    function_name: str = "courses-local"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:courses-local"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/courses-local"
    log_stream_name: str = "2026/11/27/[$LATEST]local"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def load_function(name: str, functions_dir: Path = FUNCTIONS_DIR) -> ModuleType:
    """Import ``functions/<name>/app.py`` as a fresh module: a new Lambda container.

    The layer goes on ``sys.path`` as ``/opt/python`` does in Lambda.
    """
    if str(LAYER_DIR) not in sys.path:
        sys.path.insert(0, str(LAYER_DIR))
    spec = importlib.util.spec_from_file_location(f"function_{name}_{next(_module_counter)}",
                                                  functions_dir / name / "app.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"no function {name!r}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
