"""Container lifecycle in Lambda: build clients during init, and survive SnapStart restores.

Work done in Lambda's init phase is free for on-demand cold starts' first request and,
with SnapStart, is captured in the snapshot. Building the boto3 client and the services
opens no socket (connections are made on first use), so nothing stale is restored from a
snapshot; the one thing to renew after a restore is the ``random`` state, which would
otherwise be identical in every environment restored from the same snapshot (jitter and
early-refresh decisions would then move in lockstep).
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable

LAMBDA_INIT_TYPE = "AWS_LAMBDA_INITIALIZATION_TYPE"  # on-demand | provisioned-concurrency | snap-start


def running_in_lambda_init() -> bool:
    """True inside a real Lambda execution environment (never in tests or ``make run``)."""
    return bool(os.environ.get(LAMBDA_INIT_TYPE))


def _register_after_restore(hook: Callable[[], None]) -> None:
    """Register ``hook`` with the SnapStart runtime hooks, where the runtime provides them."""
    try:
        from snapshot_restore_py import register_after_restore  # type: ignore[import-not-found]
    except ImportError:  # not a SnapStart-capable runtime: nothing is ever restored
        return
    register_after_restore(hook)


def reseed_after_restore() -> None:
    """Give each restored environment its own random sequence."""
    random.seed()


def prime(build: Callable[[], object]) -> None:
    """Run ``build`` now when in Lambda's init phase, and renew randomness after restores."""
    if not running_in_lambda_init():
        return
    build()
    _register_after_restore(reseed_after_restore)
