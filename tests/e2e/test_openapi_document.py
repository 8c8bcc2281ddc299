"""The committed docs/openapi.json is the document the handlers produce (make openapi rewrites it)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_the_committed_document_is_the_served_one(api: httpx.Client) -> None:
    served = api.get("/openapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads(COMMITTED.read_text(encoding="utf-8")), "run make openapi"
