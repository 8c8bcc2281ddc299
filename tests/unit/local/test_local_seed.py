"""Sample data has the stored shape and consistent counters."""

from __future__ import annotations

import re
from collections import Counter

from courses_api.models import Course
from local.seed import generate

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def test_sample_courses_are_valid_stored_courses() -> None:
    courses, _, result = generate(300)
    assert len(courses) == result.courses == 300
    assert len({course["course_id"] for course in courses}) == 300
    for course in courses:
        Course.model_validate(course)
        assert ISO.match(course["created_at"])
        assert ISO.match(course["updated_at"])
        assert course["updated_at"] >= course["created_at"]
        assert ("published_at" in course) == (course["status"] == "published")
        assert course["version"] >= 1
    statuses = Counter(course["status"] for course in courses)
    assert statuses["published"] > statuses["draft"] > 0


def test_enrollment_counts_match_the_enrollments() -> None:
    courses, enrollments, result = generate(300)
    counted = Counter(enrollment["course_id"] for enrollment in enrollments)
    by_id = {course["course_id"]: course for course in courses}
    assert result.enrollments == len(enrollments) > 0
    for course_id, count in counted.items():
        assert by_id[course_id]["status"] == "published"
        assert by_id[course_id]["enrollment_count"] == count
    assert len({(e["user_id"], e["course_id"]) for e in enrollments}) == len(enrollments)
    assert sum(course["enrollment_count"] for course in courses) == len(enrollments)


def test_popularity_is_skewed() -> None:
    _, enrollments, _ = generate(500)
    counts = sorted(Counter(e["course_id"] for e in enrollments).values(), reverse=True)
    top_tenth = sum(counts[: max(1, len(counts) // 10)])
    assert top_tenth > sum(counts) * 0.3


def test_generation_is_deterministic() -> None:
    first, _, _ = generate(50)
    second, _, _ = generate(50)
    assert [c["course_id"] for c in first] == [c["course_id"] for c in second]
