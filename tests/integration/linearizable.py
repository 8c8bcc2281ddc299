"""Concurrency tests make moto linearizable, as DynamoDB is (see ``local.aws.SerializedApp``)."""

from local.aws import serialize_requests as serialize

__all__ = ["serialize"]
