"""docs/API.md and docs/openapi.json describe the same routes, statuses and problem types."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from courses_api.http import problems

REPO_ROOT = Path(__file__).resolve().parents[2]
API_MD = (REPO_ROOT / "docs" / "API.md").read_text(encoding="utf-8")
OPENAPI: dict[str, Any] = json.loads((REPO_ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
ROUTE_ROW = re.compile(r"^\| `(GET|POST|PATCH|DELETE|PUT) (/[^`?]*)(?:\?[^`]*)?` \|", re.MULTILINE)
ERROR_ROW = re.compile(r"^\| (\d{3}) \| (`[a-z-]+`(?:, `[a-z-]+`)*) \|", re.MULTILINE)


def documented_operations() -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, operations in OPENAPI["paths"].items() for method in operations}


def test_every_route_of_the_contract_is_in_the_openapi_document_and_back() -> None:
    routes = {(method, path) for method, path in ROUTE_ROW.findall(API_MD)}
    assert routes == documented_operations()


def test_every_error_status_of_the_contract_is_documented_on_some_route() -> None:
    documented = {int(status) for operations in OPENAPI["paths"].values() for operation in operations.values()
                  for status in operation["responses"]}
    listed = {int(status) for status, _ in ERROR_ROW.findall(API_MD)}
    assert listed, "the error table of docs/API.md was not found"
    assert listed <= documented


def test_problem_types_of_the_contract_are_the_ones_the_layer_sends() -> None:
    slugs = {value.slug for value in vars(problems).values() if isinstance(value, problems.ProblemType)}
    listed = {slug.strip("`") for _, names in ERROR_ROW.findall(API_MD) for slug in names.split(", ")}
    assert listed <= slugs
    assert slugs - listed <= {"internal-error"}  # a bug, not part of the contract
