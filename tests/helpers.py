"""Helpers every test layer shares: events, Lambda contexts, loading functions, seeding."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from local.invoke import FakeLambdaContext, load_function

__all__ = ["FakeLambdaContext", "call", "claims_for", "course_item", "load_event", "load_function"]

REPO_ROOT = Path(__file__).resolve().parent.parent
EVENTS_DIR = REPO_ROOT / "events"


@cache
def _event_template(name: str) -> str:
    return (EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8")


def load_event(
    name: str,
    *,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    claims: dict[str, Any] | None = None,
    authorizer: dict[str, Any] | None = None,
    body: Any = None,
    raw_body: str | None = None,
) -> dict[str, Any]:
    """The event of ``events/<name>.json``, with the given parts replaced.

    ``path`` is rebuilt from the resource and path parameters so the resolver routes it.
    ``claims`` puts Cognito claims where the user-pool authorizer does; ``claims={}`` or
    ``authorizer={}`` removes the caller.
    """
    event: dict[str, Any] = json.loads(_event_template(name))
    if path_parameters is not None:
        event["pathParameters"] = {**(event.get("pathParameters") or {}), **path_parameters}
    if event.get("pathParameters"):
        path = event["resource"]
        for key, value in event["pathParameters"].items():
            path = path.replace("{" + key + "}", value)
        event["path"] = path
    if query is not None:
        event["queryStringParameters"] = query or None
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} or None
    if headers is not None:
        merged = {**event.get("headers", {}), **headers}
        event["headers"] = {k: v for k, v in merged.items() if v is not None}
        event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    if claims is not None:
        event["requestContext"]["authorizer"] = {"claims": claims} if claims else {}
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    if raw_body is not None:
        event["body"] = raw_body
    elif body is not None:
        event["body"] = json.dumps(body, default=str)
    return event


def claims_for(sub: str, *groups: str) -> dict[str, Any]:
    """Claims as API Gateway's Cognito authorizer delivers them (groups as one ``[a b]`` string)."""
    claims: dict[str, Any] = {"sub": sub, "token_use": "id", "email": f"{sub}@example.com"}
    if groups:
        claims["cognito:groups"] = "[" + " ".join(groups) + "]"
    return claims


@dataclass
class HttpResult:
    """A proxy response, decoded."""

    status: int
    headers: dict[str, str]
    body: Any

    @property
    def problem(self) -> dict[str, Any]:
        assert self.headers.get("Content-Type") == "application/problem+json", self.headers
        assert isinstance(self.body, dict)
        return self.body


def call(module: ModuleType, event: dict[str, Any]) -> HttpResult:
    """Invoke a function module's handler and decode its proxy response."""
    response = module.lambda_handler(copy.deepcopy(event), FakeLambdaContext())
    headers = dict(response.get("headers") or {})
    for key, values in (response.get("multiValueHeaders") or {}).items():
        headers.setdefault(key, values[-1])
    raw = response.get("body")
    body = json.loads(raw) if raw else None
    return HttpResult(status=response["statusCode"], headers=headers, body=body)


def course_item(
    course_id: str | None = None,
    *,
    instructor_id: str = "instructor-0001",
    category: str = "web-development",
    level: str = "beginner",
    status: str = "published",
    published_at: str | None = "2026-11-01T10:00:00.000000Z",
    created_at: str = "2026-10-01T10:00:00.000000Z",
    title: str = "Modern Web Development",
    version: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    """A stored course row, as the write path would have written it."""
    item: dict[str, Any] = {
        "course_id": course_id or uuid.uuid4().hex,
        "title": title,
        "description": "A practical course. " * 10,
        "category": category,
        "level": level,
        "instructor_id": instructor_id,
        "price": Decimal("49.99"),
        "tags": ["python", "aws"],
        "status": status,
        "enrollment_count": 0,
        "created_at": created_at,
        "updated_at": created_at,
        "version": version,
        **extra,
    }
    if status == "published" and published_at:
        item["published_at"] = published_at
    return item
