"""Fixtures of the template invariant tests: the source template and its SAM transform."""

from __future__ import annotations

from typing import Any

import pytest

from tests.template.stack import load_source, transform


@pytest.fixture(scope="session")
def source() -> dict[str, Any]:
    return load_source()


@pytest.fixture(scope="session")
def transformed(source: dict[str, Any]) -> dict[str, Any]:
    return transform(source)
