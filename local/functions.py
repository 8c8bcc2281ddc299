"""The functions of ``template.yaml`` run as warm "containers", one process each.

Each container imports its function's handler once (with :mod:`local.invoke`, the same
loader the tests and benchmarks use) and serves one event at a time with a Lambda context
carrying the template's memory size and timeout, so every function keeps its own module
state (its ``Container`` of clients and its near cache), as separate Lambda containers do.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import ModuleType
from typing import Any

from local.invoke import LambdaContext, load_module
from local.specs import FunctionSpec

# Imported once by the fork server, so a new container starts in milliseconds instead of
# re-importing boto3, Powertools and pydantic (a cold start of ~1.5 s per process here).
PRELOAD = [
    "local.functions",
    "boto3",
    "botocore.client",
    "pydantic",
    "redis",
    "aws_lambda_powertools.event_handler",
    "aws_lambda_powertools.utilities.batch",
    "aws_lambda_powertools.utilities.idempotency",
    "courses_api.container",
    "courses_api.http.resolver",
]


def _container_context() -> Any:
    """``forkserver`` where available: clean forks of a preloaded, single-threaded process."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


class FunctionError(Exception):
    """The handler raised (Lambda reports a function error; API Gateway answers 502)."""


class FunctionTimeoutError(Exception):
    """The handler ran past the function's timeout; its container was killed, as Lambda does."""


class FunctionCrashedError(Exception):
    """The container process died mid-invocation."""


def _container_main(spec: FunctionSpec, conn: Connection) -> None:
    """One function container: import the handler once, then serve one event at a time."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the server; it stops us
    os.environ.update(dict(spec.environment))  # this function's own variables, as in its Lambda
    try:
        module = load_module(spec)
        handler = getattr(module, spec.handler_name)
    except BaseException as error:  # report the init error to the parent, as Lambda does
        conn.send(("init-error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the server went away
        if message is None:
            return
        event, request_id = message
        try:
            result = handler(event, LambdaContext.of(spec, request_id))
        except Exception as error:
            conn.send(("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}"))
            continue
        try:
            conn.send(("ok", result))
        except (TypeError, ValueError, AttributeError, pickle.PicklingError) as error:
            conn.send(("error", f"response not serialisable: {error}"))


@dataclass
class _Container:
    process: BaseProcess
    conn: Connection


class FunctionPool:
    """Warm "containers" of one function, each its own process, like Lambda's execution environments.

    Lambda gives a container one request at a time and starts another when all are busy.
    Separate processes matter here: Powertools keeps the current event in class attributes
    shared by every resolver of a process, so concurrent requests in one process would read
    each other's events. Each container also keeps its own clients and near cache, so
    cross-container staleness shows locally as it does in AWS. Idle containers are reused
    newest-first (warm), up to ``max_containers`` run at once, then callers wait; a container
    that times out is killed and replaced.
    """

    def __init__(self, spec: FunctionSpec, max_containers: int = 4) -> None:
        self.spec = spec
        self.max_containers = max(1, max_containers)
        self._idle: list[_Container] = []
        self._created = 0
        self._cond = threading.Condition()
        self._context = _container_context()
        self._module: ModuleType | None = None
        self.invocations = 0
        self.cold_starts = 0

    @property
    def containers(self) -> int:
        return self._created

    def warm(self) -> None:
        """Start one container now (fails fast on import errors)."""
        with self._cond:
            self._created += 1
        container = self._start_reserved()
        self._release(container)

    def any_module(self) -> ModuleType:
        """The function's module imported in this process, to read its resolver (e.g. its OpenAPI schema)."""
        if self._module is None:
            self._module = load_module(self.spec)
        return self._module

    def _start_reserved(self) -> _Container:
        """Spawn a container into a slot already counted in ``_created``."""
        try:
            parent, child = self._context.Pipe()
            process = self._context.Process(target=_container_main, args=(self.spec, child), daemon=True,
                                            name=f"lambda-{self.spec.logical_id}")
            process.start()
            child.close()
            status, detail = parent.recv()
            if status != "ready":
                process.join(5)
                raise ImportError(f"{self.spec.logical_id} failed to initialise: {detail}")
        except BaseException:
            with self._cond:
                self._created -= 1
                self._cond.notify()
            raise
        with self._cond:
            self.cold_starts += 1
        return _Container(process=process, conn=parent)

    def _acquire(self) -> _Container:
        with self._cond:
            while not self._idle and self._created >= self.max_containers:
                self._cond.wait()
            if self._idle:
                return self._idle.pop()
            self._created += 1
        return self._start_reserved()

    def _release(self, container: _Container) -> None:
        with self._cond:
            self._idle.append(container)
            self._cond.notify()

    def _discard(self, container: _Container) -> None:
        container.process.kill()
        container.process.join(5)
        container.conn.close()
        with self._cond:
            self._created -= 1
            self._cond.notify()

    def invoke(self, event: dict[str, Any], request_id: str | None = None) -> Any:
        """Call the handler in a free container with one event; raises the ``Function*`` errors."""
        container = self._acquire()
        healthy = False
        try:
            with self._cond:
                self.invocations += 1
            container.conn.send((event, request_id))
            if not container.conn.poll(self.spec.timeout_s):
                raise FunctionTimeoutError(f"{self.spec.logical_id} timed out after {self.spec.timeout_s} s")
            status, payload = container.conn.recv()
            healthy = True
        except (EOFError, OSError) as error:
            raise FunctionCrashedError(f"{self.spec.logical_id} container exited") from error
        finally:
            if healthy:
                self._release(container)
            else:
                self._discard(container)
        if status == "error":
            raise FunctionError(payload)
        return payload

    def close(self) -> None:
        """Stop every idle container (busy ones are daemons and die with the server)."""
        with self._cond:
            idle, self._idle = self._idle, []
        for container in idle:
            with contextlib.suppress(OSError):
                container.conn.send(None)
            container.process.join(2)
            if container.process.is_alive():
                container.process.kill()
            container.conn.close()


def load_functions(
    specs: dict[str, FunctionSpec], max_containers: int = 4, warm: bool = True
) -> dict[str, FunctionPool]:
    """A pool per function whose handler file exists, each with one warm container (started in parallel)."""
    pools = {lid: FunctionPool(spec, max_containers) for lid, spec in specs.items() if spec.module_file.is_file()}
    if warm:
        with ThreadPoolExecutor(max_workers=max(1, len(pools))) as executor:
            list(executor.map(FunctionPool.warm, pools.values()))
    return pools
