"""Realistic sample data for ``make run``: courses, instructors, students, enrollments.

Deterministic for a given seed, so a bug seen on one laptop shows on another. Items have
exactly the stored shape the layer writes (ISO-8601 UTC timestamps, ``published_at`` only
while published, ``version`` from 1) and are written with the layer's ``BatchWriteItem``
helper; ``enrollment_count`` equals the enrollments written for each course.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from tqdm import tqdm

from courses_api.data.dynamo import BATCH_WRITE_LIMIT, batch_write
from courses_api.data.enrollments import enrollment_row, placed

CATEGORIES: dict[str, list[str]] = {
    "web-development": ["javascript", "typescript", "react", "css", "html", "nodejs", "django", "flask"],
    "data-science": ["python", "pandas", "statistics", "sql", "visualization", "numpy", "jupyter"],
    "machine-learning": ["python", "pytorch", "tensorflow", "deep-learning", "nlp", "computer-vision"],
    "mobile-development": ["swift", "kotlin", "flutter", "react-native", "ios", "android"],
    "cloud-computing": ["aws", "serverless", "lambda", "dynamodb", "terraform", "kubernetes"],
    "devops": ["docker", "kubernetes", "ci-cd", "github-actions", "observability", "linux"],
    "cybersecurity": ["network-security", "owasp", "cryptography", "pentesting", "iam"],
    "design": ["figma", "ux", "ui", "typography", "accessibility", "illustration"],
    "business": ["marketing", "finance", "leadership", "product-management", "startups"],
    "photography": ["lightroom", "portrait", "landscape", "lighting", "composition"],
    "music": ["guitar", "piano", "music-theory", "production", "songwriting"],
    "languages": ["spanish", "english", "japanese", "german", "french", "grammar"],
}
TOPICS: dict[str, list[str]] = {
    "web-development": ["Modern JavaScript", "React", "TypeScript", "CSS Layout", "Django", "Node.js APIs"],
    "data-science": ["Pandas", "SQL for Analysts", "Statistics", "Data Visualisation", "Exploratory Analysis"],
    "machine-learning": ["Deep Learning", "PyTorch", "NLP", "Computer Vision", "Gradient Boosting"],
    "mobile-development": ["SwiftUI", "Kotlin", "Flutter", "React Native", "Offline-First Apps"],
    "cloud-computing": ["AWS Lambda", "DynamoDB Modelling", "Serverless APIs", "Terraform", "Kubernetes"],
    "devops": ["Docker", "CI/CD Pipelines", "GitHub Actions", "Observability", "Linux Administration"],
    "cybersecurity": ["Web Security", "Applied Cryptography", "Threat Modelling", "Penetration Testing"],
    "design": ["Figma", "UX Research", "Design Systems", "Accessible Interfaces", "Typography"],
    "business": ["Product Management", "Startup Finance", "Growth Marketing", "Leadership"],
    "photography": ["Portrait Photography", "Lightroom", "Landscape Photography", "Studio Lighting"],
    "music": ["Guitar", "Piano", "Music Theory", "Home Recording", "Songwriting"],
    "languages": ["Spanish", "Japanese", "German", "French", "Business English"],
}
TITLE_FORMS = [
    "{topic} for Beginners", "Mastering {topic}", "{topic}: The Complete Guide", "Practical {topic}",
    "{topic} in 30 Days", "Advanced {topic}", "{topic} Bootcamp", "Hands-on {topic}", "{topic} Fundamentals",
    "{topic} by Example", "Professional {topic}", "{topic} Masterclass",
]
PRICES = [Decimal(p) for p in ("0", "9.99", "14.99", "19.99", "29.99", "49.99", "89.99", "129.99", "199.99")]
LEVELS = ["beginner", "intermediate", "advanced"]
STATUSES = ["published", "draft", "archived"]
STATUS_WEIGHTS = [0.85, 0.10, 0.05]

ADMIN_ID = "admin-local"
PROGRESS_MIN_ITEMS = 500  # smaller seeds finish before a progress bar helps


def iso(moment: datetime) -> str:
    """The fixed-width ISO-8601 UTC form the indexes sort on (same as the layer's ``utc_now``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class SeedResult:
    """What was written, and identities the banner and tests can use."""

    courses: int = 0
    enrollments: int = 0
    instructors: list[str] = field(default_factory=list)
    students: list[str] = field(default_factory=list)
    published_course_ids: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=lambda: list(CATEGORIES))
    admin: str = ADMIN_ID


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _course(rng: random.Random, instructor_id: str, now: datetime) -> dict[str, Any]:
    category = rng.choice(list(CATEGORIES))
    topic = rng.choice(TOPICS[category])
    title = rng.choice(TITLE_FORMS).format(topic=topic)
    level = rng.choices(LEVELS, weights=[0.45, 0.35, 0.20])[0]
    status = rng.choices(STATUSES, weights=STATUS_WEIGHTS)[0]
    created = now - timedelta(days=rng.uniform(3, 730), seconds=rng.uniform(0, 86_400))
    tags = rng.sample(CATEGORIES[category], k=rng.randint(1, min(5, len(CATEGORIES[category]))))
    item: dict[str, Any] = {
        "course_id": _uuid(rng),
        "title": title,
        "description": (
            f"{title} takes you from first principles to confident practice in {topic}. "
            f"Short lessons, {rng.randint(5, 60)} exercises and a final project; "
            f"about {rng.randint(2, 40)} hours of video, aimed at {level} learners."
        ),
        "category": category,
        "level": level,
        "instructor_id": instructor_id,
        "price": rng.choice(PRICES),
        "tags": tags,
        "status": status,
        "enrollment_count": 0,
        "created_at": iso(created),
        "updated_at": iso(created),
        "version": 1,
    }
    if status != "draft":
        published = created + timedelta(hours=rng.uniform(1, 72))
        item["updated_at"] = iso(published)
        item["version"] = 2
        if status == "published":
            item["published_at"] = iso(published)
        else:
            item["updated_at"] = iso(published + timedelta(days=rng.uniform(1, 60)))
            item["version"] = 3
    return item


Items = list[dict[str, Any]]


def generate(count: int, seed: int = 20261127, now: datetime | None = None) -> tuple[Items, Items, SeedResult]:
    """``count`` courses and Zipf-distributed enrollments in the published ones."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not secrets
    now = now or datetime.now(UTC)
    result = SeedResult()
    result.instructors = [_uuid(rng) for _ in range(max(3, min(200, count // 20)))]
    result.students = [_uuid(rng) for _ in range(max(10, count // 2))]
    courses = [_course(rng, rng.choice(result.instructors), now) for _ in range(count)]
    published = [course for course in courses if course["status"] == "published"]
    result.published_course_ids = [course["course_id"] for course in published]

    enrollments: list[dict[str, Any]] = []
    if published:
        # Popularity follows a Zipf-like law: a few courses hold most of the students.
        order = published[:]
        rng.shuffle(order)
        weights = [1.0 / (rank + 1) ** 1.1 for rank in range(len(order))]
        for student in result.students:
            picks = {course["course_id"]: course for course in rng.choices(order, weights=weights, k=rng.randint(0, 6))}
            for course in picks.values():
                published_at = datetime.fromisoformat(course["published_at"].replace("Z", "+00:00"))
                span = max(60.0, (now - published_at).total_seconds() - 60)
                enrolled = published_at + timedelta(seconds=rng.uniform(0, span))
                enrollments.append(enrollment_row(student, course["course_id"], iso(enrolled)))
                course["enrollment_count"] += 1
    enrollments = placed(enrollments, {course["course_id"]: course["enrollment_count"] for course in courses})
    result.courses = len(courses)
    result.enrollments = len(enrollments)
    return courses, enrollments, result


def _chunks(items: Sequence[dict[str, Any]], size: int) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def seed(client: Any, courses_table: str, enrollments_table: str, count: int, seed: int = 20261127) -> SeedResult:
    """Generate and write the sample data with ``BatchWriteItem`` (chunks of 25)."""
    courses, enrollments, result = generate(count, seed)
    total = len(courses) + len(enrollments)
    with tqdm(total=total, desc="seeding", unit="item", disable=total < PROGRESS_MIN_ITEMS, leave=False) as progress:
        for table, items in ((courses_table, courses), (enrollments_table, enrollments)):
            for chunk in _chunks(items, BATCH_WRITE_LIMIT):
                batch_write(client, table, chunk)
                progress.update(len(chunk))
    return result
