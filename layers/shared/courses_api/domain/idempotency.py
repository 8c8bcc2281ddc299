"""``Idempotency-Key`` for enrollments: Powertools idempotency on a DynamoDB table.

Enrolling is idempotent by construction (a repeat creates nothing), but a client retrying
after a lost response should get the *same* response (201, not 200), and a key reused for a
different course is a client bug worth a 422. The records live in DynamoDB, never in
Redis: the cache may fail, idempotency may not.

The key is scoped to the caller (``[user_id, key]``), so two users' keys never collide,
and the course id is validated against the stored record. Everything is built on first
use by the :class:`~courses_api.container.Container`, with its client (its endpoint,
timeouts and retries), never at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from courses_api.domain.auth import Caller
from courses_api.domain.enrollments import EnrollmentService, EnrollOutcome
from courses_api.errors import Conflict, DependencyUnavailable, IdempotencyKeyReused
from courses_api.models import Enrollment

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

RECORD_TTL_S = 24 * 60 * 60
KEY_PREFIX = "courses-api.enroll"


class IdempotentEnrollments:
    """``EnrollmentService.enroll`` whose response is replayed for a repeated ``Idempotency-Key``."""

    def __init__(
        self,
        service: EnrollmentService,
        *,
        table_name: str,
        client: DynamoDBClient,
        expires_after_s: int = RECORD_TTL_S,
    ) -> None:
        self._service = service
        self._config = IdempotencyConfig(
            event_key_jmespath="[user_id, key]",
            payload_validation_jmespath="course_id",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=expires_after_s,
        )
        persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client)
        self._enroll: Callable[..., dict[str, Any]] = idempotent_function(
            self._run, data_keyword_argument="request", persistence_store=persistence,
            config=self._config, key_prefix=KEY_PREFIX,
        )

    def _run(self, *, request: dict[str, str], caller: Caller) -> dict[str, Any]:
        outcome = self._service.enroll(caller, request["course_id"])
        return {"created": outcome.created, "enrollment": outcome.enrollment.model_dump()}

    def enroll(self, caller: Caller, course_id: str, key: str, context: LambdaContext | None) -> EnrollOutcome:
        """Enroll once per ``key``; a replay returns the first response's outcome."""
        user_id = caller.require_user()
        if context is not None:
            self._config.register_lambda_context(context)
        request = {"user_id": user_id, "key": key, "course_id": course_id}
        try:
            stored = self._enroll(request=request, caller=caller)
        except IdempotencyValidationError as error:
            raise IdempotencyKeyReused("This Idempotency-Key was used for a different course.") from error
        except IdempotencyAlreadyInProgressError as error:
            raise Conflict("A request with this Idempotency-Key is in progress; retry shortly.",
                           retry_after_s=1) from error
        except IdempotencyPersistenceLayerError as error:
            raise DependencyUnavailable("The idempotency store did not answer; retry shortly.") from error
        return EnrollOutcome(Enrollment.model_validate(stored["enrollment"]), created=bool(stored["created"]))
