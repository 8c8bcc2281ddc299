"""The benchmark's data set: deterministic courses and enrollments of realistic size, and seeding.

Every tier reads the same rows, generated from one seed: ids, sizes and popularity do
not change between runs, so runs are comparable. Rows look like what the write path
stores (same attributes, same timestamp format), with descriptions of realistic length
(log-normal, median ~1,400 characters, capped at the 5,000 the API allows), so the read
units computed by the sizing rules are the ones real rows would cost.
"""

from __future__ import annotations

import bisect
import math
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from courses_api.data.dynamo import batch_write
from courses_api.data.enrollments import enrollment_row, placed

_WORD_TEXT = (
    "learn build deploy scale design test secure data cloud python java rust web api model network "
    "practical hands-on project modern fundamentals advanced guide complete master beginner professional "
    "course module lesson exercise quiz real-world pattern architecture performance database cache index "
    "query serverless lambda function container kubernetes docker pipeline analytics statistics machine "
    "learning neural vision language audio design user interface mobile frontend backend testing "
    "automation security cryptography privacy compliance finance marketing writing photography music "
    "drawing business leadership management communication productivity career interview algorithm "
    "structure graph tree "
)
WORDS = _WORD_TEXT.split()
LEVELS = ("beginner", "intermediate", "advanced")
EPOCH = datetime(2023, 1, 1, tzinfo=UTC)
SPAN_S = 3 * 365 * 24 * 3600


@dataclass(frozen=True)
class DatasetSpec:
    """Sizes of the data set (all configurable from the command line)."""

    courses: int = 20_000
    enrollments: int = 100_000
    users: int = 20_000
    instructors: int = 2_000
    categories: int = 40
    seed: int = 42
    published_share: float = 0.85


@dataclass
class Dataset:
    """The generated rows plus what the workload needs to aim at them."""

    spec: DatasetSpec
    courses: list[dict[str, Any]]
    enrollments: list[dict[str, Any]]
    published_ids: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    instructors: list[str] = field(default_factory=list)
    enrolled_users: list[str] = field(default_factory=list)

    def describe(self, course_bytes: int) -> dict[str, Any]:
        """The ``dataset`` section of the results."""
        descriptions = sorted(len(c["description"]) for c in self.courses)
        return {
            "courses": len(self.courses),
            "published_courses": len(self.published_ids),
            "enrollments": len(self.enrollments),
            "users_with_enrollments": len(self.enrolled_users),
            "instructors": len(self.instructors),
            "categories": len(self.categories),
            "seed": self.spec.seed,
            "description_chars_median": descriptions[len(descriptions) // 2] if descriptions else 0,
            "course_item_bytes_mean": round(course_bytes / max(1, len(self.courses))),
        }


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text(rng: random.Random, chars: int) -> str:
    words: list[str] = []
    length = 0
    while length < chars:
        word = rng.choice(WORDS)
        words.append(word)
        length += len(word) + 1
    sentence = " ".join(words)[:chars].rstrip()
    return sentence[:1].upper() + sentence[1:] + "."


def zipf_weights(n: int, s: float) -> list[float]:
    """Unnormalised Zipf weights 1/k^s for ranks 1..n."""
    return [1.0 / (k**s) for k in range(1, n + 1)]


def generate(spec: DatasetSpec) -> Dataset:
    """Build every row in memory, deterministically from ``spec.seed``."""
    rng = random.Random(spec.seed)
    categories = [f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{i:02d}" for i in range(spec.categories)]
    category_cumulative = _accumulate(zipf_weights(len(categories), 1.1))
    instructors = [f"instructor-{i:05d}" for i in range(spec.instructors)]
    instructor_cumulative = _accumulate(zipf_weights(len(instructors), 0.8))
    courses: list[dict[str, Any]] = []
    for _ in range(spec.courses):
        created = EPOCH + timedelta(seconds=rng.randrange(SPAN_S), microseconds=rng.randrange(1_000_000))
        roll = rng.random()
        status = "published" if roll < spec.published_share else ("draft" if roll < 0.95 else "archived")
        description_chars = min(5_000, max(200, int(rng.lognormvariate(math.log(1_400), 0.55))))
        course: dict[str, Any] = {
            "course_id": f"{rng.getrandbits(128):032x}",
            "title": _text(rng, rng.randint(24, 90)).rstrip("."),
            "description": _text(rng, description_chars),
            "category": categories[_pick(rng, category_cumulative)],
            "level": rng.choice(LEVELS),
            "instructor_id": instructors[_pick(rng, instructor_cumulative)],
            "price": Decimal(rng.choice(("0", "9.99", "19.99", "29.99", "49.99", "89.99", "129.00", "199.99"))),
            "tags": sorted(set(rng.sample(WORDS, rng.randint(2, 6)))),
            "status": status,
            "enrollment_count": 0,
            "created_at": _timestamp(created),
            "updated_at": _timestamp(created + timedelta(days=rng.randint(0, 30))),
            "version": rng.randint(1, 6),
        }
        if status == "published":
            course["published_at"] = _timestamp(created + timedelta(hours=rng.randint(1, 24 * 14)))
        courses.append(course)
    published = [c for c in courses if c["status"] == "published"]
    rng.shuffle(published)  # popularity rank is independent of id and age
    enrollments = _enrollments(rng, spec, published)
    counts = Counter(e["course_id"] for e in enrollments)
    enrollments = placed(enrollments, dict(counts))
    for course in courses:
        course["enrollment_count"] = counts.get(course["course_id"], 0)
    users = sorted({e["user_id"] for e in enrollments})
    rng.shuffle(users)
    return Dataset(
        spec=spec,
        courses=courses,
        enrollments=enrollments,
        published_ids=[c["course_id"] for c in published],
        categories=categories,
        instructors=sorted({c["instructor_id"] for c in courses}),
        enrolled_users=users,
    )


def _enrollments(rng: random.Random, spec: DatasetSpec, published: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """About ``spec.enrollments`` unique (user, course) pairs; popular courses get more."""
    if not published or spec.enrollments <= 0:
        return []
    weights = zipf_weights(len(published), 1.1)
    cumulative = _accumulate(weights)
    seen: set[tuple[str, str]] = set()
    rows: list[dict[str, Any]] = []
    attempts = 0
    while len(rows) < spec.enrollments and attempts < spec.enrollments * 3:
        attempts += 1
        user = f"user-{rng.randrange(spec.users):06d}"
        course = published[_pick(rng, cumulative)]
        pair = (user, course["course_id"])
        if pair in seen:
            continue
        seen.add(pair)
        enrolled = max(datetime.fromisoformat(course["published_at"].replace("Z", "+00:00")), EPOCH)
        enrolled += timedelta(seconds=rng.randrange(90 * 24 * 3600))
        rows.append(enrollment_row(user, course["course_id"], _timestamp(enrolled)))
    return rows


def _accumulate(weights: list[float]) -> list[float]:
    total = 0.0
    out = []
    for w in weights:
        total += w
        out.append(total)
    return out


def _pick(rng: random.Random, cumulative: list[float]) -> int:
    """Index drawn from cumulative weights (binary search)."""
    return min(len(cumulative) - 1, bisect.bisect_left(cumulative, rng.random() * cumulative[-1]))


@dataclass
class SeedTiming:
    """How long seeding took (moto is in-process, so this is mostly moto's own cost)."""

    courses_s: float
    enrollments_s: float

    @property
    def total_s(self) -> float:
        return self.courses_s + self.enrollments_s


def seed(client: Any, tables: dict[str, str], data: Dataset, progress: Any = None) -> SeedTiming:
    """Write every row with BatchWriteItem (chunks of 25, unprocessed items retried)."""
    started = time.perf_counter()
    _write(client, tables["COURSES_TABLE"], data.courses, progress)
    middle = time.perf_counter()
    _write(client, tables["ENROLLMENTS_TABLE"], data.enrollments, progress)
    return SeedTiming(courses_s=middle - started, enrollments_s=time.perf_counter() - middle)


def _write(client: Any, table: str, rows: list[dict[str, Any]], progress: Any, chunk: int = 500) -> None:
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        batch_write(client, table, part)
        if progress is not None:
            progress.update(len(part))
