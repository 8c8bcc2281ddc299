"""The local moto stand-in keeps the DynamoDB guarantees our concurrency relies on."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError

from tests.support.services import MotoEndpoint, serialize_requests

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


def test_transaction_retried_with_its_token_succeeds_once(
    moto_endpoint: MotoEndpoint, tables: dict[str, str], dynamodb: DynamoDBClient
) -> None:
    # Given a serialized moto and a published course
    serialize_requests(moto_endpoint)
    courses, enrollments = tables["COURSES_TABLE"], tables["ENROLLMENTS_TABLE"]
    dynamodb.put_item(TableName=courses, Item={"course_id": {"S": "c1"}, "status": {"S": "published"}})
    transaction: list[TransactWriteItemTypeDef] = [
        {"Put": {"TableName": enrollments, "Item": {"user_id": {"S": "u1"}, "course_id": {"S": "c1"}},
                 "ConditionExpression": "attribute_not_exists(user_id)"}},
        {"Update": {"TableName": courses, "Key": {"course_id": {"S": "c1"}},
                    "UpdateExpression": "ADD enrollment_count :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
    ]
    # When the same transaction is sent twice with one token (an SDK retry), Then both succeed
    dynamodb.transact_write_items(TransactItems=transaction, ClientRequestToken="token-1")
    dynamodb.transact_write_items(TransactItems=transaction, ClientRequestToken="token-1")
    # And it was applied once
    item = dynamodb.get_item(TableName=courses, Key={"course_id": {"S": "c1"}})["Item"]
    assert item["enrollment_count"] == {"N": "1"}
    # While a new token is a new transaction, refused by its condition
    with pytest.raises(ClientError, match="TransactionCanceled"):
        dynamodb.transact_write_items(TransactItems=transaction, ClientRequestToken="token-2")
