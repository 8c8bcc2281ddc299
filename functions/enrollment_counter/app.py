"""Enrollments stream (tumbling window) → each course's enrollment count, written once per window."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from courses_api.container import Container
from courses_api.observability import logger, metrics, trace_handler

container = Container()


@logger.inject_lambda_context(clear_state=True)
@trace_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return container.enrollment_counter.handle(event)
