"""API Gateway events for the tests: ``events/<name>.json`` with parts replaced, Cognito claims.

Claims go where the route's caller comes from: behind the Cognito authorizer into
``requestContext.authorizer.claims``; on the routes without an authorizer, whose function
verifies the bearer token itself, into an ID token signed by the session's stand-in pool.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
EVENTS_DIR = REPO_ROOT / "events"


@cache
def token_events() -> frozenset[str]:
    """The events of functions that verify tokens themselves (``TOKEN_JWKS`` in their template entry)."""
    from local.template import load_template

    names = set()
    for resource in load_template()["Resources"].values():
        props = resource.get("Properties") or {}
        if "TOKEN_JWKS" in ((props.get("Environment") or {}).get("Variables") or {}):
            names.add(str(props["CodeUri"]).strip("/").rsplit("/", 1)[-1])
    return frozenset(names)


def bearer_for(claims: Mapping[str, Any]) -> dict[str, str]:
    """An ``Authorization`` header carrying ``claims`` (``sub``, ``cognito:groups`` as ``[a b]``) as a token."""
    from tests.support.services import mint_token

    raw = claims.get("cognito:groups") or ""
    groups = raw if isinstance(raw, list) else str(raw).strip("[]").split()
    return {"Authorization": f"Bearer {mint_token(str(claims['sub']), groups)}"}


@cache
def _event_template(name: str) -> str:
    return (EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8")


def load_event(
    name: str,
    *,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    headers: Mapping[str, str | None] | None = None,
    claims: dict[str, Any] | None = None,
    authorizer: dict[str, Any] | None = None,
    body: Any = None,
    raw_body: str | None = None,
) -> dict[str, Any]:
    """The event of ``events/<name>.json``, with the given parts replaced.

    ``path`` is rebuilt from the resource and path parameters so the resolver routes it.
    ``claims`` puts Cognito claims where the user-pool authorizer does (on a token route:
    into a signed bearer token); ``claims={}`` or ``authorizer={}`` removes the caller.
    ``authorizer`` sets ``requestContext.authorizer`` as given, whatever the route.
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
    if claims is not None and name in token_events():
        event["requestContext"].pop("authorizer", None)
        if claims:
            headers = {**(headers or {}), **bearer_for(claims)}
    elif claims is not None:
        event["requestContext"]["authorizer"] = {"claims": claims} if claims else {}
    if authorizer is not None:
        event["requestContext"]["authorizer"] = authorizer
    if headers is not None:
        merged = {**event.get("headers", {}), **headers}
        event["headers"] = {k: v for k, v in merged.items() if v is not None}
        event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
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
