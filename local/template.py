"""Read ``template.yaml`` (with its CloudFormation short tags) without AWS tooling."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]

REPO_ROOT = Path(__file__).resolve().parent.parent
# COURSES_TEMPLATE points the local tooling at another template (e.g. a candidate change).
TEMPLATE_PATH = Path(os.environ.get("COURSES_TEMPLATE", REPO_ROOT / "template.yaml"))


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc]  # no PyYAML stubs installed
    """SafeLoader that turns ``!Ref x`` into ``{"Ref": x}`` and ``!Sub y`` into ``{"Fn::Sub": y}``."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


@lru_cache(maxsize=4)
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    """The parsed template; cached because several fixtures read it."""
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return document


def resources_of_type(resource_type: str, path: Path = TEMPLATE_PATH) -> dict[str, dict[str, Any]]:
    """Logical id → resource for every resource of ``resource_type``."""
    resources: dict[str, dict[str, Any]] = load_template(path).get("Resources", {})
    return {lid: res for lid, res in resources.items() if res.get("Type") == resource_type}
