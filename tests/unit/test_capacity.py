"""The read-unit meters: the layer's publishes DynamoDB's ``ConsumedCapacity``; the tests' and
benchmarks' (``benchmarks.metering``) sizes items by DynamoDB's rules, since moto's figures are fake.

Sizes and units follow the DynamoDB Developer Guide: "Item sizes and formats"
(CapacityUnitCalculations.html) and "Read consistency" / "Read request units" (read-write-operations.html).
"""

from typing import Any

import pytest

from benchmarks.metering import EstimatingMeter, attribute_value_size, item_size, read_units, remember_params
from courses_api.data import capacity
from courses_api.data.capacity import CapacityMeter


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ({"S": "hello"}, 5),
        ({"S": "é"}, 2),
        ({"N": "12345"}, 4),
        ({"N": "-1.5"}, 2),
        ({"BOOL": True}, 1),
        ({"NULL": True}, 1),
        ({"L": [{"S": "ab"}, {"S": "c"}]}, 3 + 3 + 2),
        ({"M": {"k": {"S": "v"}}}, 3 + 1 + 1 + 1),
        ({"SS": ["a", "bc"]}, 3),
    ],
)
def test_attribute_sizes(value: dict[str, Any], size: int) -> None:
    assert attribute_value_size(value) == size


def test_read_units_round_up_per_4kb_and_halve_for_eventual() -> None:
    assert read_units(1, consistent=True) == 1
    assert read_units(4096, consistent=True) == 1
    assert read_units(4097, consistent=True) == 2
    assert read_units(4097, consistent=False) == 1
    assert read_units(0, consistent=False) == 0.5


def test_item_size_counts_names_and_values() -> None:
    assert item_size({"id": {"S": "abc"}, "n": {"N": "7"}}) == 2 + 3 + 1 + 2


class FakeModel:
    def __init__(self, name: str) -> None:
        self.name = name


def test_meter_charges_queries_for_filtered_out_items_and_batches_per_item() -> None:
    meter = EstimatingMeter()
    cost = meter.begin_request()
    item = {"course_id": {"S": "x" * 1000}}
    # a Query that returned 2 items of ~1 KB after reading 10 (8 filtered out): ~10 KB → 3 units, halved
    meter._after_call(None, {"Items": [item, item], "ScannedCount": 10, "Count": 2}, FakeModel("Query"),
                      context={"courses_params": {"ConsistentRead": False}})
    assert cost.computed_rcu == 1.5
    # BatchGetItem rounds each item up on its own: 3 small items cost 3 times 0.5
    meter._after_call(None, {"Responses": {"t": [item, item, item]}}, FakeModel("BatchGetItem"), context={})
    assert cost.computed_rcu == 3.0
    assert cost.calls == {"Query": 1, "BatchGetItem": 1}
    assert meter.total.computed_rcu == 3.0


def test_filtered_out_items_are_sized_by_their_own_table() -> None:
    meter = EstimatingMeter()
    cost = meter.begin_request()
    big = {"course_id": {"S": "x" * 4000}}
    # Given a table whose items are ~4 KB
    meter._after_call(None, {"Items": [big], "ScannedCount": 1}, FakeModel("Query"),
                      context={"courses_params": {"TableName": "Courses"}})
    # When another table's Scan filters out 100 items and returns none
    meter._after_call(None, {"Items": [], "ScannedCount": 100}, FakeModel("Scan"),
                      context={"courses_params": {"TableName": "Enrollments"}})
    # Then they are billed at the default size (600 B), not at the other table's 4 KB
    assert cost.computed_rcu == 0.5 + 15 / 2


def test_consistent_batch_reads_are_billed_in_full() -> None:
    meter = EstimatingMeter()
    cost = meter.begin_request()
    context: dict[str, Any] = {}
    remember_params({"RequestItems": {"Courses": {"Keys": [], "ConsistentRead": True}}}, context)
    meter._after_call(None, {"Responses": {"Courses": [{"course_id": {"S": "x"}}]}}, FakeModel("BatchGetItem"),
                      context=context)
    assert cost.computed_rcu == 1.0


def test_published_figure_is_the_estimate_or_dynamodbs_own() -> None:
    item = {"course_id": {"S": "x" * 5000}}  # 2 read units strongly consistent, by the sizing rules
    parsed = {"Item": item, "ConsumedCapacity": {"TableName": "Courses", "CapacityUnits": 3.0}}
    context = {"courses_params": {"ConsistentRead": True}}
    estimating, reporting = EstimatingMeter(), CapacityMeter()
    costs = []
    for meter in (estimating, reporting):
        costs.append(meter.begin_request())
        meter._after_call(None, parsed, FakeModel("GetItem"), context=context)
        assert meter.total.rcu == costs[-1].rcu
    assert (costs[0].computed_rcu, costs[0].reported_rcu) == (2.0, 3.0), "against moto both are kept"
    assert (costs[1].computed_rcu, costs[1].reported_rcu) == (0.0, 3.0), "in AWS no item is sized"
    assert estimating.total.rcu == 2.0
    assert reporting.total.rcu == 3.0


def test_meter_reads_consumed_capacity_from_a_real_client() -> None:
    """DynamoDB's ConsumedCapacity exists only in AWS: botocore's Stubber stands in for the answer."""
    import boto3
    from botocore.stub import Stubber

    client = boto3.session.Session().client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    meter = CapacityMeter()
    meter.attach(client)
    cost = meter.begin_request()
    with Stubber(client) as stub:
        stub.add_response(
            "query",
            {"Items": [{"course_id": {"S": "c1"}}], "Count": 1, "ScannedCount": 1,
             "ConsumedCapacity": {"TableName": "Courses", "CapacityUnits": 4.5}},
            {"TableName": "Courses", "KeyConditionExpression": "course_id = :c",
             "ExpressionAttributeValues": {":c": {"S": "c1"}}, "ReturnConsumedCapacity": "TOTAL"},
        )
        client.query(TableName="Courses", KeyConditionExpression="course_id = :c",
                     ExpressionAttributeValues={":c": {"S": "c1"}}, ReturnConsumedCapacity="TOTAL")
    assert cost.rcu == cost.reported_rcu == 4.5
    assert cost.computed_rcu == 0.0, "the production meter sizes no item"


def test_containers_meter_with_the_type_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    from courses_api.container import Container

    monkeypatch.setattr(capacity, "_meter_type", CapacityMeter)
    assert type(Container().meter) is CapacityMeter, "what the layer does in AWS"
    capacity.use_meter(EstimatingMeter)
    assert type(Container().meter) is EstimatingMeter
