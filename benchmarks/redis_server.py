"""
A real ``redis-server`` for the figure that shares a rate limit through Redis: start it, flush it,
read its CPU.

Debian's package, installed by ``scripts/install_servers.sh`` when missing (as the tests do). No
Airflow is imported here.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import ROOT
from benchmarks.processes import BenchmarkError

REDIS_SERVER = "/usr/bin/redis-server"


def ensure_redis_server() -> str | None:
    """The path of ``redis-server``, installed first if missing; ``None`` if it cannot be had."""
    if not shutil.which(REDIS_SERVER):
        subprocess.run(
            ["bash", str(ROOT / "scripts" / "install_servers.sh"), "redis-server"],
            capture_output=True,
            timeout=900,
            check=False,
        )
    return REDIS_SERVER if shutil.which(REDIS_SERVER) else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Redis:
    """A running ``redis-server`` on 127.0.0.1."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """The URI of an Airflow Redis connection to it (``AIRFLOW_CONN_<ID>``)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> Any:
        """A redis-py client to it (the ``redis`` extra the clients need anyway)."""
        import redis

        return redis.Redis(port=self.port, socket_timeout=10)

    def flush(self) -> None:
        """Drop every key: the next limiter starts from nothing."""
        with self.client() as client:
            client.flushall()

    def cpu_seconds(self) -> float:
        """The server's CPU so far, user and system (``INFO cpu``)."""
        with self.client() as client:
            info = client.info("cpu")
        return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


@contextmanager
def redis_server() -> Iterator[Redis]:
    """Run a ``redis-server`` (no persistence) on a free port of 127.0.0.1 until the block ends."""
    binary = ensure_redis_server()
    if binary is None:
        raise BenchmarkError(
            f"no {REDIS_SERVER}: scripts/install_servers.sh could not install Debian's redis-server"
        )
    port = _free_port()
    workdir = Path(tempfile.mkdtemp(prefix="mi-bench-redis-"))
    args = [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(workdir)]
    args += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        running = Redis(port, process)
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise BenchmarkError(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        yield running
    finally:
        process.kill()
        process.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)
