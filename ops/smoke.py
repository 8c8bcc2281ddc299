"""Post-deploy smoke test: call every route of a deployed stage and check what comes back.

    python -m ops.smoke --url https://<api>.execute-api.<region>.amazonaws.com/<stage> \\
        --token <ID token of a signed-in user without the instructors group> \\
        [--instructor-token <ID token of an instructor>] [--admin-token <ID token of an admin>] \
        [--origins https://a.example,https://b.example]

``make smoke URL=... TOKEN=... [INSTRUCTOR_TOKEN=...] [ADMIN_TOKEN=...] [ORIGINS=...]`` runs it. It checks the
gateway's own answers (401 without or with a bad token, 403 for the wrong role, 400 for a
body that fails the route's schema, 413, 404 for an unknown route), every route's status,
the cache (``X-Cache`` turns to HIT on a repeated read), CORS preflights from each origin
(and none for an origin not listed), and ``/health``. With an instructor's token it also
runs a course's whole life: create, publish, read twice, enroll, roster, delete. Only that
course is written, and it is deleted at the end. Prints a pass/fail table; exits 1 on any
failure. A stage whose cache never hits fails, and the report says why: ``/health``'s cache
details (the cause, denied / timed out / unreachable, and Redis's own error), which the
stage shows to an admin's token only.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import httpx

PROBLEM_JSON = "application/problem+json"
PAYLOAD_LIMIT_BYTES = 10 * 1024 * 1024  # API Gateway's request payload limit
UNLISTED_ORIGIN = "https://smoke-test.invalid"
CACHE_ATTEMPTS = 5
# A list invalidated less than CACHE_FENCE_TTL_MS (2 s) ago is served but not stored, so the
# repeats are spread over more than that.
CACHE_RETRY_PAUSE_S = 1.0
MALFORMED_TOKEN = "not.a.jwt"  # noqa: S105 - deliberately not a token
VALID_COURSE = {"title": "Smoke test course", "description": "Created and deleted by the smoke test.",
                "category": "smoke-test", "level": "beginner", "price": "0", "tags": ["smoke"]}


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    name: str
    ok: bool
    detail: str


@dataclass
class Expect:
    """What a response must be: its status, and optionally problem+json and some headers."""

    status: int
    problem: bool = False
    headers: dict[str, str | None] = field(default_factory=dict)  # None: the header must be absent
    body: Callable[[Any], str | None] | None = None  # returns why the JSON body is wrong, or None

    def verdict(self, response: httpx.Response) -> str | None:
        """None when the response meets the expectation, else what is wrong with it."""
        for check in (self._status, self._problem, self._headers, self._body):
            wrong = check(response)
            if wrong is not None:
                return wrong
        return None

    def _status(self, response: httpx.Response) -> str | None:
        if response.status_code != self.status:
            return f"status {response.status_code}, expected {self.status}: {_excerpt(response)}"
        return None

    def _problem(self, response: httpx.Response) -> str | None:
        if not self.problem:
            return None
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        if content_type != PROBLEM_JSON:
            return f"content-type {content_type or 'missing'}, expected {PROBLEM_JSON}"
        reported = _json(response).get("status") if isinstance(_json(response), dict) else None
        if reported not in (None, self.status):
            return f"problem body says status {reported}"
        return None

    def _headers(self, response: httpx.Response) -> str | None:
        for name, wanted in self.headers.items():
            actual = response.headers.get(name)
            if wanted is None and actual is not None:
                return f"{name}: {actual!r}, expected none"
            if wanted is not None and actual != wanted:
                return f"{name}: {actual!r}, expected {wanted!r}"
        return None

    def _body(self, response: httpx.Response) -> str | None:
        return self.body(_json(response)) if self.body is not None else None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _excerpt(response: httpx.Response) -> str:
    return response.text[:160].replace("\n", " ")


def _list_body(body: Any) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("items"), list) or "next_cursor" not in body:
        return 'not a list page ({"items": [...], "next_cursor": ...})'
    return None


def _health_body(body: Any) -> str | None:
    status = body.get("status") if isinstance(body, dict) else None
    return None if status == "ok" else f"health status {status!r} (degraded: the cache is not serving)"


class Smoke:
    """The checks, in order, against one stage."""

    def __init__(
        self, client: httpx.Client, token: str, *, origins: Sequence[str] = (), instructor_token: str | None = None,
        admin_token: str | None = None,
    ) -> None:
        self.client = client
        self.token = token
        self.origins = list(origins)
        self.instructor_token = instructor_token
        self.admin_token = admin_token
        self.checks: list[Check] = []

    # ---- plumbing ---------------------------------------------------------------------
    def _auth(self, token: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"} if token else {}

    def call(
        self, name: str, method: str, path: str, expect: Expect, *, token: str | None = None, **kwargs: Any
    ) -> httpx.Response | None:
        """One request (``kwargs`` go to httpx; ``headers`` among them add to the token's)."""
        headers = {**self._auth(token), **(kwargs.pop("headers", None) or {})}
        try:
            response = self.client.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            self.checks.append(Check(name, False, f"{type(error).__name__}: {error}"))
            return None
        problem = expect.verdict(response)
        self.checks.append(Check(name, problem is None, problem or f"{method} {path} -> {response.status_code}"))
        return response if problem is None else None

    def cache_hit(self, name: str, path: str, **kwargs: Any) -> None:
        """A repeated read is a HIT. A write elsewhere (or the stream invalidator catching up
        with one) may invalidate between two reads, so a few repeats are allowed."""
        seen: list[str] = []
        for attempt in range(CACHE_ATTEMPTS):
            if attempt:
                time.sleep(CACHE_RETRY_PAUSE_S)
            try:
                response = self.client.get(path, **kwargs)
            except httpx.HTTPError as error:
                self.checks.append(Check(name, False, f"{type(error).__name__}: {error}"))
                return
            seen.append(f"{response.status_code} {response.headers.get('X-Cache', 'no X-Cache')}")
            if response.status_code == HTTPStatus.OK and response.headers.get("X-Cache") == "HIT":
                # A function's in-memory near cache also answers HIT, even for rows it read while
                # Redis was refusing it: the HIT counts only while /health says the cache is ok.
                if self.cache_ok():
                    self.checks.append(Check(name, True, f"GET {path} -> {', '.join(seen)}"))
                else:
                    self.checks.append(Check(name, False, f"GET {path} -> {', '.join(seen)} from the near cache "
                                             f"only, Redis is not serving; {self.cache_health()}"))
                return
        self.checks.append(Check(name, False, f"no HIT in {CACHE_ATTEMPTS} reads: {', '.join(seen)}; "
                                 f"{self.cache_health()}"))

    def cache_ok(self) -> bool:
        try:
            response = self.client.get("/health")
        except httpx.HTTPError:
            return False
        body = _json(response)
        return response.status_code == HTTPStatus.OK and isinstance(body, dict) and body.get("status") == "ok"

    def cache_health(self) -> str:
        """What ``/health`` says about the cache: its details with an admin's token, else the status."""
        try:
            response = self.client.get("/health", headers=self._auth(self.admin_token))
        except httpx.HTTPError as error:
            return f"/health: {type(error).__name__}: {error}"
        body = _json(response)
        cache = (body.get("dependencies") or {}).get("cache") if isinstance(body, dict) else None
        if isinstance(cache, dict):
            return "/health cache: " + json.dumps(cache, sort_keys=True)
        status = body.get("status") if isinstance(body, dict) else None
        hint = "" if self.admin_token else " (pass an admin's token, ADMIN_TOKEN=..., for the cache's details)"
        return f"/health {response.status_code} status {status!r}{hint}; BYPASS: EnableCache=false or the cache refuses"

    # ---- the checks -------------------------------------------------------------------
    def run(self) -> list[Check]:
        self.public_reads()
        self.gateway_answers()
        self.signed_in_routes()
        self.preflights()
        if self.instructor_token:
            self.course_life()
        return self.checks

    def public_reads(self) -> None:
        self.call("GET /health is ok", "GET", "/health", Expect(200, body=_health_body))
        self.call("GET /courses lists", "GET", "/courses", Expect(200, body=_list_body), params={"limit": 1})
        self.cache_hit("GET /courses again is a cache HIT", "/courses", params={"limit": 1})
        self.call("GET /instructors/{id}/courses lists", "GET", f"/instructors/{_unknown()}/courses",
                  Expect(200, body=_list_body))
        self.call("GET /courses/{unknown id} is 404", "GET", f"/courses/{_unknown()}", Expect(404, problem=True))

    def gateway_answers(self) -> None:
        self.call("unknown route is 404", "GET", f"/no-such-route-{_unknown()}", Expect(404, problem=True))
        self.call("no token is 401", "POST", "/courses", Expect(401, problem=True), json=VALID_COURSE)
        self.call("bad token is 401", "GET", "/me/enrollments", Expect(401, problem=True), token=MALFORMED_TOKEN)
        self.call("wrong role is 403", "POST", "/courses", Expect(403, problem=True), token=self.token,
                  json=VALID_COURSE)
        self.call("body failing the schema is 400", "POST", "/courses", Expect(400, problem=True), token=self.token,
                  json={**VALID_COURSE, "unknown_field": 1})
        self.call("body over 10 MB is 413", "POST", "/courses", Expect(413, problem=True), token=self.token,
                  content=b"x" * (PAYLOAD_LIMIT_BYTES + 1), headers={"Content-Type": "application/json"})

    def signed_in_routes(self) -> None:
        unknown = _unknown()
        self.call("GET /me/enrollments lists", "GET", "/me/enrollments", Expect(200, body=_list_body),
                  token=self.token)
        self.call("POST enrollment of an unknown course is 404", "POST", f"/courses/{unknown}/enrollments",
                  Expect(404, problem=True), token=self.token)
        self.call("GET roster of an unknown course is 404", "GET", f"/courses/{unknown}/enrollments",
                  Expect(404, problem=True), token=self.token)
        self.call("PATCH without If-Match is 428", "PATCH", f"/courses/{unknown}", Expect(428, problem=True),
                  token=self.token, json={"title": "x"})
        self.call("DELETE of an unknown course is 404", "DELETE", f"/courses/{unknown}", Expect(404, problem=True),
                  token=self.token)

    def preflights(self) -> None:
        preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
        for origin in self.origins:
            self.call(f"preflight from {origin}", "OPTIONS", "/courses",
                      Expect(200, headers={"Access-Control-Allow-Origin": origin}),
                      headers={**preflight, "Origin": origin})
        self.call("preflight from an unlisted origin names none", "OPTIONS", "/courses",
                  Expect(200, headers={"Access-Control-Allow-Origin": None}),
                  headers={**preflight, "Origin": UNLISTED_ORIGIN})

    def course_life(self) -> None:
        owner = self.instructor_token
        created = self.call("POST /courses creates (instructor)", "POST", "/courses", Expect(201), token=owner,
                            json=VALID_COURSE)
        if created is None:
            return
        course_id = created.json()["course_id"]
        path = f"/courses/{course_id}"
        published = self.call("PATCH publishes", "PATCH", path, Expect(200), token=owner,
                              headers={"If-Match": created.headers.get("ETag", "")}, json={"status": "published"})
        self.call("GET the course", "GET", path, Expect(200))
        self.cache_hit("GET the course again is a cache HIT", path)
        self.call("POST enrollment enrolls", "POST", f"{path}/enrollments", Expect(201), token=self.token)
        self.call("GET roster (owner) lists the student", "GET", f"{path}/enrollments",
                  Expect(200, body=lambda body: None if body and body.get("items") else "empty roster"), token=owner)
        self.call("GET roster by a student is 403", "GET", f"{path}/enrollments", Expect(403, problem=True),
                  token=self.token)
        etag = (published or created).headers.get("ETag", "")
        self.call("DELETE deletes", "DELETE", path, Expect(204), token=owner, headers={"If-Match": etag})
        # As the owner: anonymous reads may be served by a near cache for its TTL (1 s by default).
        self.call("GET after DELETE is 404 (owner)", "GET", path, Expect(404, problem=True), token=owner)


def _unknown() -> str:
    return uuid.uuid4().hex


def render(checks: Iterable[Check]) -> str:
    """The report: one row per check, then a summary line."""
    rows = list(checks)
    width = max((len(check.name) for check in rows), default=10)
    lines = [f"{'check':<{width}}  result  detail", f"{'-' * width}  ------  ------"]
    lines += [f"{check.name:<{width}}  {'PASS' if check.ok else 'FAIL':<6}  {check.detail}" for check in rows]
    failed = sum(not check.ok for check in rows)
    lines.append(f"{len(rows) - failed} passed, {failed} failed")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="stage URL (the stack's ApiUrl output)")
    parser.add_argument("--token", required=True, help="ID token of a signed-in user who is not an instructor")
    parser.add_argument("--instructor-token", default="", help="ID token of an instructor: runs a course's life")
    parser.add_argument("--admin-token", default="", help="ID token of an admin: /health's details on a failure")
    parser.add_argument("--origins", default="", help="comma-separated AllowedOrigins of the stack")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    args = parser.parse_args(argv)
    origins = [origin.strip() for origin in args.origins.split(",") if origin.strip()]
    with httpx.Client(base_url=args.url.rstrip("/"), timeout=args.timeout) as client:
        checks = Smoke(client, args.token, origins=origins, instructor_token=args.instructor_token or None,
                       admin_token=args.admin_token or None).run()
    print(render(checks))
    return 0 if all(check.ok for check in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
