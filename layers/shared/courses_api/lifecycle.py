"""Container lifecycle in Lambda: build clients during init, and survive SnapStart restores.

Every Lambda init builds the clients the first request needs (settings, the DynamoDB client,
the cache); with SnapStart they are captured in the snapshot. None of this opens a socket
(connections are made on first use), so nothing stale is restored from a snapshot; the one
thing to renew after a restore is the ``random`` state, which would otherwise be identical
in every environment restored from the same snapshot (TTL jitter would then move in
lockstep).

What only some requests need (redis-py, which loads with the Redis client on the first
cache call) waits for its first use in an on-demand init, whose time a waiting request
pays. Where init runs ahead of any request — SnapStart and provisioned concurrency — it is
loaded during init too (``warm``), so restored and provisioned environments never pay it.

The cyclic garbage collector is paused while a function module is imported in Lambda's
init (:func:`pause_collection`, :func:`end_init`): an init allocates several hundred
thousand objects — modules, classes, validators, the service model — that all live as
long as the container, and the forty-odd collections those allocations trigger (20-40 ms
of a cold start) scan them to free next to nothing. At the end of init they are frozen
(``gc.freeze``: later collections skip them too) and collection resumes.
"""

from __future__ import annotations

import gc
import os
import random
from collections.abc import Callable

LAMBDA_INIT_TYPE = "AWS_LAMBDA_INITIALIZATION_TYPE"  # on-demand | provisioned-concurrency | snap-start
AHEAD_OF_REQUESTS = frozenset({"snap-start", "provisioned-concurrency"})


def running_in_lambda_init() -> bool:
    """True inside a real Lambda execution environment (never in tests or ``make run``)."""
    return bool(os.environ.get(LAMBDA_INIT_TYPE))


def init_ahead_of_requests() -> bool:
    """True when this init runs before any request waits on it (SnapStart, provisioned concurrency)."""
    return os.environ.get(LAMBDA_INIT_TYPE, "") in AHEAD_OF_REQUESTS


_paused_collection = False


def pause_collection() -> None:
    """In Lambda's init, stop cyclic garbage collection until :func:`end_init` (elsewhere: nothing)."""
    global _paused_collection  # noqa: PLW0603 - one init per process
    if running_in_lambda_init() and gc.isenabled():
        gc.disable()
        _paused_collection = True


def end_init() -> None:
    """Freeze what init built (later collections skip it) and resume collection, if it was paused."""
    global _paused_collection  # noqa: PLW0603 - one init per process
    if _paused_collection:
        _paused_collection = False
        gc.freeze()
        gc.enable()


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


def prime(build: Callable[[], object], warm: Callable[[], object] | None = None) -> None:
    """In Lambda's init: run ``build``, and ``warm`` too when init runs ahead of requests.

    Also renews randomness after SnapStart restores.
    """
    if not running_in_lambda_init():
        return
    build()
    if warm is not None and init_ahead_of_requests():
        warm()
    _register_after_restore(reseed_after_restore)
