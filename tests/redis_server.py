"""
A real ``redis-server`` for the tests, on 127.0.0.1, stopped when the tests end.

Debian's package, installed by ``scripts/install_servers.sh`` when missing; without it the tests
that need it skip, saying why.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).parents[1]
REDIS_SERVER = "/usr/bin/redis-server"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_redis_server() -> str:
    """Return the path of ``redis-server``, installing it if needed; skip the test if it cannot be had."""
    if not shutil.which(REDIS_SERVER):
        subprocess.run(
            ["bash", str(REPO / "scripts" / "install_servers.sh"), "redis-server"],
            capture_output=True,
            timeout=900,
            check=False,
        )
    if not shutil.which(REDIS_SERVER):
        pytest.skip(f"no {REDIS_SERVER}: scripts/install_servers.sh could not install Debian's redis-server")
    return REDIS_SERVER


class RedisServer:
    """
    One ``redis-server`` process on 127.0.0.1; :meth:`restart` keeps its port.

    :param password: the password clients must give (``requirepass``), or ``None``.
    """

    def __init__(self, password: str | None = None) -> None:
        self.binary = ensure_redis_server()
        self.port = free_port()
        self.password = password
        self.dir = Path(tempfile.mkdtemp(prefix="mi-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The URI of an Airflow Redis connection to this server."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start the server and wait until it answers."""
        args = [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.dir)]
        args += ["--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no"]
        if self.password:
            args += ["--requirepass", self.password]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64):
                        return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        """Stop the server (SIGKILL: what it keeps in memory is lost, as in a crash)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def restart(self) -> None:
        """Stop and start again on the same port, empty."""
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server and remove its directory."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
