"""The ReadCapacityUnits metric a function publishes: DynamoDB's own figure, or the estimate.

In AWS the layer's meter publishes what DynamoDB reports. moto answers with a fixed
``ConsumedCapacity``, so the test suite installs the estimating meter (``benchmarks.metering``)
and functions publish the read units sized from the items read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from benchmarks.metering import EstimatingMeter
from courses_api.data.capacity import CapacityMeter
from courses_api.data.dynamo import batch_write
from tests.support.data import course_item
from tests.support.events import load_event
from tests.support.functions import call


def published_read_units(output: str) -> list[float]:
    """The ReadCapacityUnits values of the EMF documents Powertools printed."""
    values: list[float] = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            value = document.get("ReadCapacityUnits")
            if value is not None:
                values.extend(float(v) for v in (value if isinstance(value, list) else [value]))
    return values


@pytest.fixture
def get_course(
    tables: dict[str, str], dynamodb: Any, without_redis: None, function: Callable[[str], ModuleType]
) -> ModuleType:
    big = course_item("big0001", description="x" * 9000)  # three 4 KB read units, strongly consistent
    batch_write(dynamodb, tables["COURSES_TABLE"], [big])
    return function("get_course")


def test_against_moto_the_estimate_is_published(get_course: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert isinstance(get_course.container.meter, EstimatingMeter)
    cost = get_course.container.meter.total
    assert call(get_course, load_event("get_course", path_parameters={"course_id": "big0001"})).status == 200
    # 3 for the row, which carries its enrollment count
    assert published_read_units(capsys.readouterr().out) == [cost.computed_rcu] == [3.0]


def test_dynamodbs_own_figure_is_published_when_not_estimating(
    get_course: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the meter as it is built in AWS (moto's ConsumedCapacity stands in for DynamoDB's)
    get_course.container.meter = CapacityMeter()
    cost = get_course.container.meter.total
    assert call(get_course, load_event("get_course", path_parameters={"course_id": "big0001"})).status == 200
    # Then the reported figure is published, and no item was sized for it
    assert cost.computed_rcu == 0.0
    assert published_read_units(capsys.readouterr().out) == [cost.reported_rcu]
