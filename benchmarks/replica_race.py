"""A DynamoDB replica that lags, and the race that shows fenced fills never store a stale row.

moto answers every read from its one copy of the data, so an eventually consistent read
there is always fresh: it cannot show what the version fences protect against. So this
module wraps a real DynamoDB client (moto over HTTP in tests and benchmarks) in
:class:`LaggingReplica`, a double that keeps every image it saw written, and answers an
eventually consistent ``GetItem`` / ``BatchGetItem`` with the image that was current
``lag_s`` ago: the previous version for ``lag_s`` after each write, as a replica behind
its leader would. Strongly consistent reads, queries and writes go to moto unchanged.

:func:`run_race` then runs writers (``CourseWrites.update``, each write invalidating right
after it commits) and readers (``CourseReads.get_course`` and ``get_courses``, each its own
container with its own cache manager, near cache off) against the same few hot courses,
and a sampler that reads Redis all along: a value found there older than a version whose
invalidation had already finished before the sample is a stale value *stored*. The
``guarded=False`` control runs the same race with a fence check that admits every row,
to show the race does store stale rows without it.
"""

from __future__ import annotations

import itertools
import os
import random
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from courses_api.cache.api import EventualRead, ReadThroughCache
from courses_api.cache.codec import Codec
from courses_api.cache.config import CacheConfig
from courses_api.cache.entries import KeySpace
from courses_api.cache.manager import RedisCacheManager
from courses_api.cache.metrics import NullMetrics
from courses_api.data.courses import CourseRepository
from courses_api.data.cursors import CursorCodec
from courses_api.data.dynamo import batch_write
from courses_api.domain.auth import ADMINS, Caller
from courses_api.domain.course_reads import COURSE_ADAPTER, CourseReads
from courses_api.domain.course_writes import CourseWrites
from courses_api.domain.invalidation import Invalidator
from courses_api.errors import PreconditionFailed
from courses_api.models import Course, CoursePatch

_UNTRACKED = object()
ALWAYS_NEWEST = 2**62  # the control's "version" of every row: the fence admits anything
_runs = itertools.count()


def _key_of(key: Mapping[str, Any]) -> str:
    return "|".join(f"{name}={value}" for name, value in sorted((n, str(v)) for n, v in key.items()))


class LaggingReplica:
    """A DynamoDB client whose eventually consistent reads lag ``lag_s`` behind its writes.

    Only keys written through this wrapper lag (their history starts with the image read
    just before the first write); the rest is served by moto as it is.
    """

    def __init__(self, client: Any, lag_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self.lag_s = lag_s
        self._clock = clock
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}
        self._history: dict[tuple[str, str], list[tuple[float, dict[str, Any] | None]]] = {}
        self.lagging_reads = 0  # eventually consistent reads answered with an older image

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    # ----- writes: recorded with the image they left

    def put_item(self, **request: Any) -> Any:
        key = {name: request["Item"][name] for name in self._key_names(request["TableName"])}
        return self._write(request["TableName"], key, lambda: self._client.put_item(**request))

    def update_item(self, **request: Any) -> Any:
        return self._write(request["TableName"], request["Key"], lambda: self._client.update_item(**request))

    def delete_item(self, **request: Any) -> Any:
        return self._write(request["TableName"], request["Key"], lambda: self._client.delete_item(**request))

    # ----- eventually consistent reads: what the replica had lag_s ago

    def get_item(self, **request: Any) -> Any:
        if request.get("ConsistentRead"):
            return self._client.get_item(**request)
        image = self._replica_image(request["TableName"], request["Key"])
        if image is _UNTRACKED:
            return self._client.get_item(**request)
        return {"Item": image} if image else {}

    def batch_get_item(self, **request: Any) -> Any:
        responses: dict[str, list[dict[str, Any]]] = {}
        passthrough: dict[str, Any] = {}
        for table, spec in request["RequestItems"].items():
            if spec.get("ConsistentRead"):
                passthrough[table] = spec
                continue
            untracked = []
            for key in spec["Keys"]:
                image = self._replica_image(table, key)
                if image is _UNTRACKED:
                    untracked.append(key)
                elif image:
                    responses.setdefault(table, []).append(image)
            if untracked:
                passthrough[table] = {**spec, "Keys": untracked}
        if passthrough:
            answered = self._client.batch_get_item(**{**request, "RequestItems": passthrough})
            for table, items in answered.get("Responses", {}).items():
                responses.setdefault(table, []).extend(items)
            return {**answered, "Responses": responses}
        return {"Responses": responses, "UnprocessedKeys": {}}

    # ----- internals

    def _key_names(self, table: str) -> list[str]:
        schema = self._client.describe_table(TableName=table)["Table"]["KeySchema"]
        return [k["AttributeName"] for k in schema]

    def _current(self, table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
        return item

    def _write(self, table: str, key: Mapping[str, Any], operation: Callable[[], Any]) -> Any:
        ident = (table, _key_of(key))
        with self._lock:
            key_lock = self._key_locks.setdefault(ident, threading.Lock())
        with key_lock:  # one write at a time per key, so each recorded image is exact
            if ident not in self._history:
                self._history[ident] = [(float("-inf"), self._current(table, key))]
            result = operation()  # a refused conditional write raises: nothing changed
            self._history[ident].append((self._clock(), self._current(table, key)))
        return result

    def _replica_image(self, table: str, key: Mapping[str, Any]) -> Any:
        history = self._history.get((table, _key_of(key)))
        if history is None:
            return _UNTRACKED
        visible_at = self._clock() - self.lag_s
        image = history[0][1]
        for committed_at, later in history:
            if committed_at > visible_at:
                break
            image = later
        if image is not history[-1][1]:
            with self._lock:
                self.lagging_reads += 1
        return image


@dataclass(slots=True)
class RaceResult:
    """What one race did and found."""

    guarded: bool
    lag_ms: float
    writes: int = 0
    reads: int = 0
    samples: int = 0
    lagging_reads: int = 0  # eventually consistent reads the replica answered with an older row
    stale_values_stored: int = 0  # distinct (course, stale version, newer invalidated version)
    examples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "guarded": self.guarded,
            "lag_ms": self.lag_ms,
            "writes": self.writes,
            "reads": self.reads,
            "redis_samples": self.samples,
            "lagging_reads": self.lagging_reads,
            "stale_values_stored": self.stale_values_stored,
        }


class _UnguardedReads:
    """The control: the same fills, with a fence check that admits every row."""

    def __init__(self, repository: CourseRepository, cache: ReadThroughCache) -> None:
        self._repository = repository
        self._cache = cache

    def read(self, course_ids: list[str]) -> None:
        if len(course_ids) == 1:
            (course_id,) = course_ids
            eventual = EventualRead(lambda: self._repository.get(course_id, consistent=False), lambda _c: ALWAYS_NEWEST)
            self._cache.fetch_item(course_id, lambda: self._repository.get(course_id), COURSE_ADAPTER,
                                   eventual=eventual)
        else:
            self._cache.fetch_items(
                course_ids, self._repository.get_many, COURSE_ADAPTER, version=lambda _c: ALWAYS_NEWEST
            )


def seed_courses(client: Any, table: str, count: int, prefix: str) -> list[str]:
    """``count`` published courses at version 1; returns their ids."""
    ids = [f"{prefix}-{i:03d}" for i in range(count)]
    now = "2026-11-01T10:00:00.000000Z"
    rows = [
        Course(
            course_id=course_id, title="Race", description="A hot course.", category="race", level="beginner",
            price=Decimal(1), instructor_id="instructor-race", status="published", created_at=now, updated_at=now,
            published_at=now, version=1,
        ).model_dump()
        for course_id in ids
    ]
    batch_write(client, table, rows)
    return ids


def connect(redis_url: str) -> Any:
    """A client built as the functions build theirs (cluster mode, auth and TLS CA from the
    environment's REDIS_* settings), on ``redis_url``, with 2 s timeouts."""
    from courses_api.cache.client import create_redis_client
    from courses_api.settings import Settings

    values: dict[str, Any] = {name.lower(): value for name, value in os.environ.items() if name.startswith("REDIS_")}
    values.update(redis_url=redis_url, redis_socket_timeout_ms=2000, redis_connect_timeout_ms=2000,
                  courses_table="race", enrollments_table="race", cursor_secret=secrets.token_urlsafe(32))
    return create_redis_client(Settings.model_validate(values))


def run_race(
    client: Any,
    table: str,
    redis_url: str,
    *,
    guarded: bool = True,
    lag_s: float = 0.15,
    writers: int = 2,
    readers: int = 4,
    courses: int = 4,
    duration_s: float = 2.0,
    fence_ttl_ms: int = 1000,
    seed: int = 7,
) -> RaceResult:
    """Race writers and readers on a lagging replica; count stale values found stored in Redis."""
    prefix = f"race{os.getpid()}-{next(_runs)}"
    ids = seed_courses(client, table, courses, prefix)
    replica: Any = LaggingReplica(client, lag_s)  # stands in for the DynamoDB client
    # Under the functions' key prefix: on the ElastiCache stand-in the cache user may reach no other.
    keys = KeySpace(os.environ.get("CACHE_KEY_PREFIX") or prefix, 1)
    # Near cache off: every read goes to Redis, where a stale fill would show.
    config = CacheConfig(keys=keys, fence_ttl_ms=fence_ttl_ms, lease_wait_s=0.05, near_ttl_s=0,
                         breaker_failure_threshold=1000, breaker_cooldown_s=0.1)
    clients: list[Any] = []

    def manager() -> RedisCacheManager:
        redis_client = connect(redis_url)
        clients.append(redis_client)
        return RedisCacheManager(redis_client, NullMetrics(), config=config)

    result = RaceResult(guarded=guarded, lag_ms=lag_s * 1000)
    invalidated: dict[str, int] = dict.fromkeys(ids, 1)  # newest version whose invalidation finished
    stop = threading.Event()
    lock = threading.Lock()
    stale: set[tuple[str, int, int]] = set()
    admin = Caller(user_id="admin-race", groups=frozenset({ADMINS}))
    counter = itertools.count(1)

    def write(worker: int) -> None:
        rng = random.Random(seed * 100 + worker)
        repository = CourseRepository(replica, table)
        writes = CourseWrites(repository, Invalidator(manager()))
        while not stop.is_set():
            course_id = rng.choice(ids)
            current = repository.get(course_id)
            assert current is not None
            try:
                new = writes.update(admin, course_id, CoursePatch(title=f"Race {next(counter)}"),
                                    expected_version=current.version)
            except PreconditionFailed:
                continue
            with lock:  # after_write has returned: the invalidation of this version is done
                invalidated[course_id] = max(invalidated[course_id], new.version)
                result.writes += 1
            time.sleep(rng.uniform(0.005, 0.03))

    def read(worker: int) -> None:
        rng = random.Random(seed * 1000 + worker)
        repository = CourseRepository(replica, table)
        cache = manager()
        reads = CourseReads(repository, cache, CursorCodec(b"race"))
        unguarded = _UnguardedReads(repository, cache)
        count = 0
        while not stop.is_set():
            chosen = rng.sample(ids, 1 if rng.random() < 0.6 else min(3, len(ids)))
            if guarded and len(chosen) == 1:
                reads.get_course(chosen[0], Caller())
            elif guarded:
                reads.get_courses(chosen, Caller())
            else:
                unguarded.read(chosen)
            count += 1
        with lock:
            result.reads += count

    def sample() -> None:
        sampler = connect(redis_url)
        clients.append(sampler)
        codec = Codec()
        while not stop.is_set():
            for course_id in ids:
                with lock:
                    floor = invalidated[course_id]  # read before the GET: its invalidation is done
                raw = sampler.get(keys.item(course_id).value)
                result.samples += 1
                if not isinstance(raw, bytes):
                    continue
                stored = codec.decode(raw, COURSE_ADAPTER)[0]
                if stored is not None and stored.version < floor:
                    stale.add((course_id, stored.version, floor))

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    threads += [threading.Thread(target=read, args=(i,)) for i in range(readers)]
    threads.append(threading.Thread(target=sample))
    for thread in threads:
        thread.start()
    time.sleep(duration_s)
    stop.set()
    for thread in threads:
        thread.join()
    # After the race, every stored row must be the newest (the last invalidations are done).
    final = connect(redis_url)
    clients.append(final)
    codec, truth = Codec(), CourseRepository(client, table)
    for course_id in ids:
        raw = final.get(keys.item(course_id).value)
        stored = codec.decode(raw, COURSE_ADAPTER)[0] if isinstance(raw, bytes) else None
        current = truth.get(course_id)
        if stored is not None and current is not None and stored.version < current.version:
            stale.add((course_id, stored.version, current.version))
    for redis_client in clients:
        redis_client.close()
    result.lagging_reads = replica.lagging_reads
    result.stale_values_stored = len(stale)
    result.examples = [f"{c}: v{old} stored after v{new} was invalidated" for c, old, new in sorted(stale)[:5]]
    return result



