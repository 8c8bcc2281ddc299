"""The write path before count shards, kept only so ``make bench-writes`` can replay it.

Each enrollment was one transaction of the enrollment row and ``ADD 1`` on the course row
(conditioned on the course being published), with ``enrollment_count`` projected into
the three list indexes and ``ByCourse`` keyed by the course id. The product no longer
runs it; the benchmark swaps this strategy into the same service and creates the tables
with the schema it needs (:func:`legacy_table_properties`).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from courses_api.data.dynamo import from_attributes, to_attributes, values_of
from courses_api.data.enrollments import EnrollmentAlreadyExists, EnrollmentRepository
from courses_api.models import Enrollment

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


class SingleCounterEnrollments(EnrollmentRepository):
    """Enrollment row + ``ADD 1`` on the course row, in one transaction."""

    def __init__(self, client: DynamoDBClient, table_name: str, courses_table: str) -> None:
        super().__init__(client, table_name)
        self.courses_table = courses_table

    def enroll(self, enrollment: Enrollment, *, shards: int = 1) -> None:
        """The transaction (``ByCourse`` keyed by the course: no roster partitions); a cancelled one
        whose row exists is a repeat (one attempt: moto never conflicts)."""
        try:
            self._client.transact_write_items(TransactItems=self.transaction(enrollment))
        except ClientError as error:
            reasons: Any = error.response.get("CancellationReasons") or []
            item = reasons[0].get("Item") if reasons else None
            if item:
                raise EnrollmentAlreadyExists(Enrollment.model_validate(from_attributes(item))) from error
            raise

    def transaction(self, enrollment: Enrollment) -> list[TransactWriteItemTypeDef]:
        return [
            {"Put": {
                "TableName": self.table_name,
                "Item": to_attributes(enrollment.model_dump()),
                "ConditionExpression": "attribute_not_exists(user_id)",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }},
            {"Update": {
                "TableName": self.courses_table,
                "Key": {"course_id": {"S": enrollment.course_id}},
                "UpdateExpression": "ADD enrollment_count :one",
                "ConditionExpression": "#status = :published",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": values_of(one=1, published="published"),
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }},
        ]


def legacy_table_properties(logical_id: str, properties: dict[str, Any]) -> dict[str, Any]:
    """A table of ``template.yaml`` as it was before count shards (other tables unchanged)."""
    props = copy.deepcopy(properties)
    if logical_id == "CoursesTable":
        for index in props.get("GlobalSecondaryIndexes", []):
            projected = index["Projection"].get("NonKeyAttributes")
            if projected is not None and "enrollment_count" not in projected:
                projected.insert(len(projected) - 1, "enrollment_count")
    if logical_id == "EnrollmentsTable":
        definitions = props["AttributeDefinitions"]
        props["AttributeDefinitions"] = [a for a in definitions if a["AttributeName"] != "course_shard"]
        for index in props.get("GlobalSecondaryIndexes", []):
            if index["IndexName"] == "ByCourse":
                index["KeySchema"] = [{"AttributeName": "course_id", "KeyType": "HASH"},
                                      {"AttributeName": "enrolled_at", "KeyType": "RANGE"}]
    return props
