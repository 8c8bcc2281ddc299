"""Powertools singletons; configured from the POWERTOOLS_* environment variables."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
# Only botocore is patched (DynamoDB calls become subsegments): patching every library
# aws-xray-sdk knows costs about 130 ms of cold start for modules we never call.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics()
