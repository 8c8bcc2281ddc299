"""Powertools Logger and Metrics singletons, and X-Ray subsegments when a setting asks for them.

Lambda's active tracing (``Tracing: Active`` in the template) records every invocation —
its initialisation, invocation and overhead — and carries the trace id from API Gateway,
with no code in the function. The X-Ray SDK only adds subsegments *inside* an invocation
(one per DynamoDB call, one for the handler) and importing it costs about 100 ms of every
cold start, so the Powertools Tracer (which imports it when built) is created only when
``TRACE_SUBSEGMENTS`` is true. ``POWERTOOLS_TRACE_DISABLED`` still turns that Tracer off.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar, cast

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics
from aws_lambda_powertools.shared.functions import resolve_truthy_env_var_choice
from aws_lambda_powertools.tracing import Tracer

TRACE_SUBSEGMENTS_ENV = "TRACE_SUBSEGMENTS"

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])

logger = Logger()
metrics = Metrics()


def subsegments_enabled() -> bool:
    """Whether ``TRACE_SUBSEGMENTS`` asks for X-Ray subsegments (default: no)."""
    return resolve_truthy_env_var_choice(env=os.environ.get(TRACE_SUBSEGMENTS_ENV, "false"))


@lru_cache(maxsize=1)
def tracer() -> Tracer:
    """The container's Tracer, built on first use; only botocore is patched.

    Patching every library aws-xray-sdk knows would cost about 130 ms more for modules
    the functions never call.
    """
    return Tracer(patch_modules=("botocore",))


def trace_handler(handler: HandlerT) -> HandlerT:
    """``handler`` in a ``## handler`` subsegment when subsegments are enabled, else unchanged."""
    if not subsegments_enabled():
        return handler
    return cast(HandlerT, tracer().capture_lambda_handler(handler, capture_response=False))
