"""The DynamoDB client: built from botocore's own models without listing every service."""

from __future__ import annotations

import secrets

import pytest

from courses_api.data.dynamo import DynamoDBOnlyLoader, build_dynamodb_client
from courses_api.settings import Settings


def settings() -> Settings:
    return Settings.from_environment({
        "COURSES_TABLE": "courses", "ENROLLMENTS_TABLE": "enrollments", "AWS_REGION": "eu-west-1",
        "CURSOR_SECRET": secrets.token_urlsafe(32), "DYNAMODB_READ_TIMEOUT_S": "2",
    })


def test_the_client_is_complete_and_configured_as_the_settings_say() -> None:
    client = build_dynamodb_client(settings())
    # the full DynamoDB model: every operation the repositories call is there
    operations = set(client.meta.service_model.operation_names)
    assert {"GetItem", "Query", "BatchGetItem", "TransactWriteItems", "UpdateItem", "DeleteItem"} <= operations
    assert "Scan" in operations, "the model is botocore's own, not a trimmed copy"
    assert client.meta.region_name == "eu-west-1"
    config = vars(client.meta.config)  # botocore's Config sets its options as attributes at run time
    assert config["read_timeout"] == 2
    assert config["retries"]["mode"] == "standard"


def test_the_loader_knows_only_dynamodb_and_still_loads_its_models() -> None:
    loader = DynamoDBOnlyLoader()
    assert loader.list_available_services("service-2") == ["dynamodb"]
    model = loader.load_service_model("dynamodb", "service-2")
    assert model["metadata"]["serviceId"] == "DynamoDB"
    with pytest.raises(Exception, match="Unknown service"):
        loader.load_service_model("s3", "service-2")
