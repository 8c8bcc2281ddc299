"""``template.yaml`` as CloudFormation receives it, computed offline.

The AWS SAM translator (the library behind CloudFormation's ``AWS::Serverless`` transform,
also used by ``sam validate``) expands the template after local code paths are replaced by
S3 URIs, as ``sam package`` does. No AWS call is made.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform as sam_transform  # type: ignore[import-untyped]

from local.template import load_template

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"


class _NoManagedPolicies:
    """The translator asks IAM for managed policy ARNs by name only when a template names one."""

    def load(self) -> dict[str, str]:
        return {}


def load_source(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as plain JSON-like data (short-form tags and YAML anchors expanded), a copy of its own."""
    return copy.deepcopy(load_template(path))


def transform(source: Mapping[str, Any]) -> dict[str, Any]:
    """The SAM transform of ``source``, as CloudFormation would receive it after ``sam package``."""
    packaged = copy.deepcopy(dict(source))
    for resource in packaged.get("Resources", {}).values():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://artifacts/{properties[key].strip('/')}.zip"
    # The translator derives the partition from the region; set one only for the call.
    previous = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = previous or "us-east-1"
    try:
        return dict(sam_transform(packaged, {}, _NoManagedPolicies()))
    finally:
        if previous is None:
            del os.environ["AWS_DEFAULT_REGION"]
