"""
A real HTTP proxy and a private CA on this machine, for the proxy and TLS tests of hooks and triggers.

A plain module (no fixtures), like ``airflow_cli``: the test modules wrap it in fixtures. The proxy
is proxy.py (from PyPI, a test dependency) in a subprocess on 127.0.0.1, with Basic credentials,
its access log in a file read back as evidence; it stops with its fixture, and by itself within
:data:`PROXY_LIFETIME_SECONDS` should the test process die first. The CA is trustme's.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme

from airflow_provider_mi.emulator import MediaIntelligenceEmulator

PROXY_USER = "proxy-user"
PROXY_PASSWORD = "pr0xy-Pa55-never-shown"
#: The longest a proxy may outlive a test process that died without stopping it.
PROXY_LIFETIME_SECONDS = 900
#: One line of proxy.py's access log: client, method and target.
_ACCESS_LINE = re.compile(r"access_log:\d+ - \S+ - (?P<method>[A-Z]+) (?P<target>\S+)")


#: Environment variables that would steer either HTTP client's proxy or TLS trust.
NETWORK_VARIABLES = (
    *(f"{name}_proxy" for name in ("http", "https", "all", "no")),
    *(f"{name}_PROXY" for name in ("HTTP", "HTTPS", "ALL", "NO")),
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
)


def clear_network_environment(monkeypatch: Any) -> None:
    """Unset :data:`NETWORK_VARIABLES` for one test (``monkeypatch`` restores them)."""
    for name in NETWORK_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@dataclass
class LocalProxy:
    """
    A running proxy.py: its URLs and what it let through.

    :param port: its port on 127.0.0.1.
    :param log_file: its log, access lines included.
    """

    port: int
    log_file: Path

    @property
    def url(self) -> str:
        """The proxy URL with its credentials."""
        return f"http://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:{self.port}"

    def requests(self) -> list[tuple[str, str]]:
        """The requests it handled so far, as (method, target), e.g. ``("CONNECT", "127.0.0.1:4443")``."""
        text = self.log_file.read_text(errors="replace") if self.log_file.exists() else ""
        return [(match["method"], match["target"]) for match in _ACCESS_LINE.finditer(text)]

    def tunnels_to(self, port: int) -> int:
        """How many tunnels it opened to a port on 127.0.0.1 (each logged once the tunnel closes)."""
        return self.requests().count(("CONNECT", f"127.0.0.1:{port}"))

    def wait_for(self, condition: Callable[[LocalProxy], bool], timeout: float = 15) -> None:
        """Wait (bounded) until its log satisfies ``condition``; the log lags the closing of a tunnel."""
        deadline = time.monotonic() + timeout
        while not condition(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"The proxy's log never showed it; it holds {self.requests()}")
            time.sleep(0.05)

    def settle(self, port: int, at_least: int = 0) -> int:
        """
        Return the tunnels to ``port`` once every earlier request is logged.

        A tunnel is logged when it closes, and a client may close its connections a moment after
        it is done (older aiohttp releases do): first wait (bounded) for ``at_least`` tunnels. Then
        one request of our own through the proxy, to a closed port, is logged after all those
        before it: once it is, the count is final.

        :param port: the port on 127.0.0.1 the clients under test were sent to.
        :param at_least: the tunnels expected.
        """
        self.wait_for(lambda proxy: proxy.tunnels_to(port) >= at_least)
        marker = f"127.0.0.1:{_closed_port()}"
        credentials = base64.b64encode(f"{PROXY_USER}:{PROXY_PASSWORD}".encode()).decode()
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(
                f"CONNECT {marker} HTTP/1.1\r\nHost: {marker}\r\n"
                f"Proxy-Authorization: Basic {credentials}\r\n\r\n".encode()
            )
            sock.recv(1024)  # the proxy's answer: it could not reach the closed port
        self.wait_for(lambda proxy: ("CONNECT", marker) in proxy.requests())
        return self.tunnels_to(port)


def stop(process: subprocess.Popen[Any]) -> None:
    """Stop a server the tests started: politely, then for good after 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def local_proxy(workdir: Path) -> Iterator[LocalProxy]:
    """
    Run proxy.py on a free port of 127.0.0.1, requiring :data:`PROXY_USER`'s credentials.

    :param workdir: where its port file and log go.
    """
    port_file, log_file = workdir / "proxy.port", workdir / "proxy.log"
    command = [
        "timeout",
        str(PROXY_LIFETIME_SECONDS),
        sys.executable,
        "-m",
        "proxy",
        "--hostname",
        "127.0.0.1",
        "--port",
        "0",
        "--port-file",
        str(port_file),
        "--num-acceptors",
        "1",
        "--num-workers",
        "1",
        "--basic-auth",
        f"{PROXY_USER}:{PROXY_PASSWORD}",
        "--log-level",
        "INFO",
        "--log-file",
        str(log_file),
    ]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as process:
        try:
            deadline = time.monotonic() + 30
            while not (port_file.exists() and port_file.read_text().strip()):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"proxy.py did not start: {process.stderr.read().decode()[-2000:]}")
                time.sleep(0.05)
            yield LocalProxy(int(port_file.read_text()), log_file)
        finally:
            stop(process)


@dataclass
class TestCA:
    """
    A private CA and a server certificate it signed for 127.0.0.1.

    :param ca: the trustme CA.
    :param pem: its certificate, as a PEM file to trust.
    """

    __test__ = False  # not a test class, whatever pytest makes of its name

    ca: trustme.CA
    pem: Path

    @classmethod
    def create(cls, workdir: Path, name: str = "ca.pem") -> TestCA:
        ca = trustme.CA()
        ca.cert_pem.write_to_path(str(workdir / name))
        return cls(ca, workdir / name)

    def server_context(self) -> ssl.SSLContext:
        """A server context with a certificate for 127.0.0.1 and localhost signed by this CA."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        return context


def connection_json(emulator: MediaIntelligenceEmulator, **extras: Any) -> str:
    """The emulator's connection in JSON form, with these extras."""
    return json.dumps({**json.loads(emulator.connection_json()), "extra": extras})


def emulator_port(emulator: MediaIntelligenceEmulator) -> int:
    return int(emulator.url.rsplit(":", 1)[1])
