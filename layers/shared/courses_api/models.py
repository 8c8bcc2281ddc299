"""Domain models: what clients send, what we store, what we return.

Input models forbid unknown fields and never coerce across types, so a wrong body is a
422 problem, not a silently "fixed" write.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

Level = Literal["beginner", "intermediate", "advanced"]
Status = Literal["draft", "published", "archived"]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{1,50}$")]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Description = Annotated[str, StringConstraints(max_length=5000)]
Price = Annotated[
    Decimal,
    Field(ge=0, le=100_000, max_digits=8, decimal_places=2, allow_inf_nan=False),
    PlainSerializer(float, return_type=float, when_used="json"),
]
Tags = Annotated[list[Slug], Field(max_length=10)]
# Ids come from path parameters and tokens: bounded, URL-safe, no separators we use in keys.
Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
LAUNCH = ("true when the course expects a launch (hundreds of enrollments a second): its roster is spread "
          "over the index's partitions from the first enrollment. Once true it stays true")


def _one_way(value: bool) -> bool:
    """Rows written spread must stay where a wide roster read finds them: no way back to narrow."""
    if not value:
        raise ValueError("a launch cannot be taken back once declared")
    return value


Declared = Annotated[StrictBool, AfterValidator(_one_way), WithJsonSchema({"type": "boolean", "const": True})]


def utc_now() -> str:
    """Current time as the fixed-width ISO-8601 UTC string the indexes sort on."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Model(BaseModel):
    """Base of every model here: its schema is built on first use, not at import, so a
    function builds only the models its route uses (each costs milliseconds of cold start)."""

    model_config = ConfigDict(defer_build=True)


class _Input(_Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class CourseCreate(_Input):
    """Body of ``POST /courses``."""

    title: Title
    description: Description = ""
    category: Slug
    level: Level
    price: Price
    tags: Tags = Field(default_factory=list)
    status: Status = "draft"
    launch: StrictBool = Field(default=False, description=LAUNCH)


class CoursePatch(_Input):
    """Body of ``PATCH /courses/{course_id}``: any subset of the writable fields."""

    # Optional, but never null (see ``_no_nulls``): the schema says so too, so clients and
    # contract tests are not told that ``null`` is accepted.
    title: Title | SkipJsonSchema[None] = None
    description: Description | SkipJsonSchema[None] = None
    category: Slug | SkipJsonSchema[None] = None
    level: Level | SkipJsonSchema[None] = None
    price: Price | SkipJsonSchema[None] = None
    tags: Tags | SkipJsonSchema[None] = None
    status: Status | SkipJsonSchema[None] = None
    launch: Declared | SkipJsonSchema[None] = Field(default=None, description=LAUNCH)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        """``null`` is not a value for any field (nothing here is clearable)."""
        if isinstance(data, dict):
            nulls = [key for key, value in data.items() if value is None]
            if nulls:
                raise ValueError(f"fields cannot be null: {', '.join(sorted(nulls))}")
        return data

    @model_validator(mode="after")
    def _not_empty(self) -> CoursePatch:
        if not self.model_fields_set:
            raise ValueError("the patch changes nothing: give at least one field")
        return self

    def changes(self) -> dict[str, Any]:
        """Only the fields the client sent."""
        return self.model_dump(exclude_unset=True)


class CourseSummary(_Model):
    """What a list shows; exactly the attributes the list indexes project."""

    model_config = ConfigDict(extra="ignore")

    course_id: str
    title: str
    category: str
    level: Level
    instructor_id: str
    price: Price
    tags: list[str] = Field(default_factory=list)
    status: Status
    enrollment_count: int = 0
    created_at: str
    published_at: str | None = None
    version: int = 1


class Course(CourseSummary):
    """A whole course as stored and as returned by ``GET /courses/{course_id}``."""

    description: str = ""
    updated_at: str
    launch: bool = Field(default=False, description=LAUNCH)

    def summary(self) -> CourseSummary:
        """The list view of this course (its fields are validated already: no second pass)."""
        return CourseSummary.model_construct(**{name: getattr(self, name) for name in CourseSummary.model_fields})


class CoursePage(_Model):
    """One page of a course list."""

    items: list[CourseSummary]
    next_cursor: str | None = None


class Enrollment(_Model):
    """One user's enrollment in one course."""

    user_id: str
    course_id: str
    enrolled_at: str


class EnrollmentWithCourse(_Model):
    """An entry of ``GET /me/enrollments``: the enrollment with its course's summary."""

    course_id: str
    enrolled_at: str
    course: CourseSummary | None = Field(
        description="null when the course was deleted since, or is no longer published: a draft or "
        "archived course is shown only to its instructor and admins, as GET /courses/{course_id} does"
    )


class EnrollmentPage(_Model):
    """One page of the caller's enrollments."""

    items: list[EnrollmentWithCourse]
    next_cursor: str | None = None


class RosterEntry(_Model):
    """An entry of a course's roster (``GET /courses/{course_id}/enrollments``)."""

    user_id: str
    enrolled_at: str


class RosterPage(_Model):
    """One page of a course's roster."""

    items: list[RosterEntry]
    next_cursor: str | None = None


class HealthStatus(_Model):
    """Body of ``GET /health`` for everyone but admins: the status alone."""

    status: Literal["ok", "degraded"]


class HealthReport(HealthStatus):
    """Body of ``GET /health``: the dependencies' details only for admins (and in the log)."""

    dependencies: dict[str, dict[str, Any]] | None = Field(
        default=None, description="Per dependency status, breaker and near-cache figures; admins only"
    )
