"""The request mix: Zipf popularity over courses, categories, instructors and users.

80 % item reads (``GET /courses/{id}``), 15 % list reads (``GET /courses`` by category or
the whole catalogue, and ``GET /instructors/{id}/courses``), 5 % ``GET /me/enrollments``.
Every request is an API Gateway event built from ``events/<function>.json``, so the
handlers see exactly what API Gateway (or ``sam local invoke -e``) would hand them.
"""

from __future__ import annotations

import bisect
import copy
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from benchmarks.dataset import Dataset, zipf_weights

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"
ITEM, LIST, ME = "item", "list", "me"
KINDS = (ITEM, LIST, ME)


@dataclass(frozen=True)
class WorkloadSpec:
    """Mix and popularity of the requests (configurable from the command line)."""

    zipf_s: float = 1.1
    item_share: float = 0.80
    list_share: float = 0.15
    me_share: float = 0.05
    # Within list reads: by category, whole catalogue, by instructor.
    list_split: tuple[float, float, float] = (0.6, 0.2, 0.2)
    level_filter_share: float = 0.25
    seed: int = 7

    def describe(self) -> dict[str, Any]:
        return {
            "zipf_s": self.zipf_s,
            "mix": {ITEM: self.item_share, LIST: self.list_share, ME: self.me_share},
            "list_split": dict(zip(("category", "catalogue", "instructor"), self.list_split, strict=True)),
            "level_filter_share": self.level_filter_share,
        }


@dataclass(frozen=True)
class Request:
    """One planned request: which function serves it and the event it receives."""

    kind: str
    function: str
    event: dict[str, Any]


@cache
def _template(name: str) -> str:
    return (EVENTS_DIR / f"{name}.json").read_text(encoding="utf-8")


def build_event(
    name: str,
    *,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    claims: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The event of ``events/<name>.json`` with path, query and caller replaced."""
    event: dict[str, Any] = json.loads(_template(name))
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
        path = event["resource"]
        for key, value in path_parameters.items():
            path = path.replace("{" + key + "}", value)
        event["path"] = path
    event["queryStringParameters"] = dict(query) if query else None
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    if claims is not None:
        event["requestContext"]["authorizer"] = {"claims": claims}
    return event


def fresh(event: dict[str, Any]) -> dict[str, Any]:
    """A private copy for one invocation (handlers may annotate the event they get)."""
    return copy.deepcopy(event)


class _Zipf:
    """Draws from ``values`` with probability ∝ 1/rank^s (the list order is the rank)."""

    def __init__(self, values: Sequence[str], s: float) -> None:
        self.values = list(values)
        total = 0.0
        self._cumulative = []
        for weight in zipf_weights(len(self.values), s):
            total += weight
            self._cumulative.append(total)

    def draw(self, rng: random.Random) -> str:
        index = bisect.bisect_left(self._cumulative, rng.random() * self._cumulative[-1])
        return self.values[min(index, len(self.values) - 1)]


class Workload:
    """Plans of requests over one data set; the same seed gives the same plan."""

    def __init__(self, data: Dataset, spec: WorkloadSpec) -> None:
        self.spec = spec
        self._courses = _Zipf(data.published_ids, spec.zipf_s)
        self._categories = _Zipf(data.categories, spec.zipf_s)
        by_size: dict[str, int] = {}
        for course in data.courses:
            by_size[course["instructor_id"]] = by_size.get(course["instructor_id"], 0) + 1
        self._instructors = _Zipf(sorted(by_size, key=lambda i: (-by_size[i], i)), spec.zipf_s)
        self._users = _Zipf(data.enrolled_users or ["nobody"], spec.zipf_s)

    def plan(self, count: int, *, salt: int) -> list[Request]:
        """``count`` requests; ``salt`` separates the warm-up plan from the measured one."""
        rng = random.Random(self.spec.seed * 1_000_003 + salt)
        return [self._one(rng) for _ in range(count)]

    def _one(self, rng: random.Random) -> Request:
        roll = rng.random()
        if roll < self.spec.item_share:
            course_id = self._courses.draw(rng)
            return Request(ITEM, "get_course", build_event("get_course", path_parameters={"course_id": course_id}))
        if roll < self.spec.item_share + self.spec.list_share:
            return self._list(rng)
        user = self._users.draw(rng)
        claims = {"sub": user, "token_use": "id", "email": f"{user}@example.com"}
        return Request(ME, "list_my_enrollments", build_event("list_my_enrollments", claims=claims))

    def _list(self, rng: random.Random) -> Request:
        by_category, catalogue, _ = self.spec.list_split
        roll = rng.random()
        if roll < by_category + catalogue:
            query: dict[str, str] = {}
            if roll < by_category:
                query["category"] = self._categories.draw(rng)
            if rng.random() < self.spec.level_filter_share:
                query["level"] = rng.choice(("beginner", "intermediate", "advanced"))
            return Request(LIST, "list_courses", build_event("list_courses", query=query))
        instructor = self._instructors.draw(rng)
        return Request(LIST, "list_instructor_courses", build_event(
            "list_instructor_courses", path_parameters={"instructor_id": instructor}
        ))
