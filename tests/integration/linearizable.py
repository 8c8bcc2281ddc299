"""Concurrency tests make moto linearizable, as DynamoDB is (see ``local.aws.SerializedApp``)."""

from tests.support.services import serialize_requests as serialize

__all__ = ["serialize"]
