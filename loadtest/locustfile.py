"""Load test of the local API: the traffic mix a course catalogue sees.

Most users browse anonymously: course pages chosen with a Zipf law (a few courses are
hot, most are cold, which is what makes a cache pay), category pages and the catalogue.
Signed-in students also enroll and read their own enrollments. Run it with ``make load``
(headless, 200 users, summary CSV/HTML in ``loadtest/results``).
"""

from __future__ import annotations

import bisect
import itertools
import os
import random
import uuid
from typing import Any

from locust import HttpUser, between, events, task
from locust.env import Environment

from local.auth import LocalAuth, key_file
from local.seed import CATEGORIES

ZIPF_EXPONENT = 1.1
CATALOGUE_PAGES = 20  # how many catalogue pages to read at start for course ids

# 1 = human think times; 0 = back-to-back requests, to find the server's capacity.
THINK = float(os.environ.get("LOAD_THINK_SCALE", "1"))
COURSE_IDS: list[str] = []
_CUMULATIVE: list[float] = []
_rng = random.Random(7)


@events.test_start.add_listener  # type: ignore[untyped-decorator]
def collect_courses(environment: Environment, **_kwargs: Any) -> None:
    """Read published course ids once (through the API itself) and shuffle them into a popularity order."""
    import httpx

    host = environment.host or "http://127.0.0.1:3000"
    cursor: str | None = None
    with httpx.Client(base_url=host, timeout=10) as client:
        for _page in range(CATALOGUE_PAGES):
            params: dict[str, Any] = {"limit": 100}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/courses", params=params).raise_for_status().json()
            COURSE_IDS.extend(item["course_id"] for item in page["items"])
            cursor = page.get("next_cursor")
            if not cursor:
                break
    if not COURSE_IDS:
        raise RuntimeError("the API has no published courses; start it with SEED_COURSES > 0")
    _rng.shuffle(COURSE_IDS)
    weights = [1.0 / (rank + 1) ** ZIPF_EXPONENT for rank in range(len(COURSE_IDS))]
    _CUMULATIVE.extend(itertools.accumulate(weights))


def popular_course() -> str:
    """A course id drawn from the Zipf popularity law."""
    point = random.random() * _CUMULATIVE[-1]
    return COURSE_IDS[min(bisect.bisect_left(_CUMULATIVE, point), len(COURSE_IDS) - 1)]


def _check(response: Any, *accepted: int) -> None:
    if response.status_code not in accepted:
        response.failure(f"status {response.status_code}: {response.text[:200]}")
    else:
        response.success()


class Browser(HttpUser):
    """An anonymous visitor: course pages, category lists, the catalogue."""

    weight = 8
    wait_time = between(1.0 * THINK, 3.0 * THINK)  # reading a page takes a moment

    @task(10)
    def course_page(self) -> None:
        with self.client.get(f"/courses/{popular_course()}", name="/courses/{course_id}",
                             catch_response=True) as response:
            _check(response, 200)

    @task(4)
    def category_list(self) -> None:
        category = random.choice(list(CATEGORIES))
        with self.client.get("/courses", params={"category": category, "limit": 20},
                             name="/courses?category=", catch_response=True) as response:
            _check(response, 200)

    @task(2)
    def catalogue(self) -> None:
        with self.client.get("/courses", params={"limit": 20}, name="/courses", catch_response=True) as response:
            _check(response, 200)

    @task(1)
    def revisit_with_etag(self) -> None:
        course_id = popular_course()
        with self.client.get(f"/courses/{course_id}", name="/courses/{course_id}",
                             catch_response=True) as first:
            _check(first, 200)
            etag = first.headers.get("ETag")
        if etag:
            with self.client.get(f"/courses/{course_id}", headers={"If-None-Match": etag},
                                 name="/courses/{course_id} (If-None-Match)", catch_response=True) as again:
                _check(again, 200, 304)


class Student(HttpUser):
    """A signed-in student: reads courses, enrolls, checks their enrollments."""

    weight = 2
    wait_time = between(2.0 * THINK, 5.0 * THINK)

    def on_start(self) -> None:
        self.user_id = f"load-{uuid.uuid4().hex[:12]}"
        token = LocalAuth.load(key_file()).mint(self.user_id, [])  # the key the running server made
        self.client.headers["Authorization"] = f"Bearer {token}"

    @task(4)
    def course_page(self) -> None:
        with self.client.get(f"/courses/{popular_course()}", name="/courses/{course_id} (signed in)",
                             catch_response=True) as response:
            _check(response, 200)

    @task(1)
    def enroll(self) -> None:
        with self.client.post(f"/courses/{popular_course()}/enrollments", name="/courses/{course_id}/enrollments",
                              catch_response=True) as response:
            _check(response, 200, 201)

    @task(2)
    def my_enrollments(self) -> None:
        with self.client.get("/me/enrollments", params={"limit": 20}, name="/me/enrollments",
                             catch_response=True) as response:
            _check(response, 200)
