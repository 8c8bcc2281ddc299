"""A reachable Redis for tests and ``make run``: the one at REDIS_URL, or one we start."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

import redis

from local.aws import free_port

DEFAULT_LOCAL_URL = "redis://127.0.0.1:6379/0"


def is_reachable(url: str) -> bool:
    """True when a PING to ``url`` answers within half a second."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False


@dataclass
class LocalRedis:
    """A Redis URL and, when we started the server, its process (to stop, freeze or thaw)."""

    url: str
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    workdir: str = field(default="")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def start_redis_server(port: int | None = None, *extra_args: str) -> LocalRedis:
    """Start a throw-away ``redis-server`` on loopback (nothing kept on disk)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError("redis-server is not installed (apt-get install redis-server)")
    port = port or free_port()
    workdir = tempfile.mkdtemp(prefix="courses-redis-")
    args = [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
            "--dir", workdir, *extra_args]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not is_reachable(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"redis-server did not start on port {port}")
        time.sleep(0.05)
    return LocalRedis(url=url, process=process, port=port, workdir=workdir)


def ensure_redis(preferred_url: str = DEFAULT_LOCAL_URL) -> LocalRedis | None:
    """The Redis at ``preferred_url`` if it answers, else a new local server, else None."""
    if preferred_url and is_reachable(preferred_url):
        return LocalRedis(url=preferred_url)
    try:
        return start_redis_server()
    except (FileNotFoundError, RuntimeError):
        return None
