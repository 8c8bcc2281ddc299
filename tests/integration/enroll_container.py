"""One enroll "container" in a process of its own, for the contention tests.

Lambda runs one request at a time per container and many containers at once. Powertools
keeps the current event in process-wide state, so concurrent requests through handlers
need separate processes, as separate containers are: each process here loads the real
``enroll`` function, waits for the others at a barrier, and sends its requests in order.
"""

from __future__ import annotations

import json
import os
from typing import Any


def run_container(
    environment: dict[str, str], requests: list[str], course_id: str, start: Any
) -> list[tuple[str, int, str | None]]:
    """Send each user's enrollment in ``course_id`` through the handler: (user, status, body's user) each."""
    os.environ.update(environment)
    from tests.support.events import claims_for, load_event
    from tests.support.functions import context_for, load_function

    function = load_function("enroll")
    start.wait()
    results = []
    for user_id in requests:
        event = load_event("enroll", path_parameters={"course_id": course_id}, claims=claims_for(user_id))
        response = function.lambda_handler(event, context_for(function))
        body = json.loads(response["body"]) if response.get("body") else {}
        results.append((user_id, int(response["statusCode"]), body.get("user_id")))
    return results
