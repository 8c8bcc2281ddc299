"""Stored rows for arranging tests, as the write path would have written them."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any


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
