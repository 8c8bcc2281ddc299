"""Input models reject what the API must answer with a 4xx."""

from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from courses_api.models import CourseCreate, CoursePatch

VALID: dict[str, Any] = {
    "title": "Intro to DynamoDB",
    "category": "databases",
    "level": "beginner",
    "price": 19.99,
}


def test_valid_create_has_defaults() -> None:
    course = CourseCreate.model_validate(VALID)
    assert course.status == "draft"
    assert course.tags == []
    assert course.price == Decimal("19.99")


@pytest.mark.parametrize(
    "change",
    [
        {"title": ""},
        {"title": "x" * 201},
        {"title": 5},
        {"description": "x" * 5001},
        {"category": "Data Science"},
        {"level": "expert"},
        {"price": -1},
        {"price": 100_000.01},
        {"price": 1.234},
        {"price": "NaN"},
        {"tags": ["ok"] * 11},
        {"tags": ["Not Slug"]},
        {"status": "deleted"},
        {"instructor_id": "me"},
        {"enrollment_count": 5},
    ],
)
def test_invalid_create(change: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CourseCreate.model_validate({**VALID, **change})


def test_patch_needs_a_field_and_refuses_nulls() -> None:
    with pytest.raises(ValidationError):
        CoursePatch.model_validate({})
    with pytest.raises(ValidationError):
        CoursePatch.model_validate({"title": None})
    assert CoursePatch.model_validate({"status": "published"}).changes() == {"status": "published"}
