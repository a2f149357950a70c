"""
A real S3-compatible server on this machine for the object-storage tests: moto's standalone
server (``moto[server]``, a test dependency) in a subprocess on 127.0.0.1, reached through an
Airflow AWS connection whose ``endpoint_url`` points at it, as NCP Object Storage is.

A plain module (no fixtures), like ``local_network``. The server stops with its context, and by
itself within :data:`LIFETIME_SECONDS` should the test process die first. With ``locked=True``
it enforces authentication: every request signed with the connection's made-up keys is refused
(an unreadable bucket, as wrong credentials or a denying policy make one).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from local_network import stop

LIFETIME_SECONDS = 900
ACCESS_KEY, SECRET_KEY, REGION = "moto-access-key", "moto-secret-key", "us-east-1"


@dataclass(frozen=True)
class S3Server:
    """A running moto server: its URL, and a boto3 client to arrange buckets with."""

    url: str

    def connection(self, **extra: Any) -> str:
        """An Airflow AWS connection (JSON) whose ``endpoint_url`` is this server."""
        return json.dumps(
            {
                "conn_type": "aws",
                "login": ACCESS_KEY,
                "password": SECRET_KEY,
                "extra": {"endpoint_url": self.url, "region_name": REGION, **extra},
            }
        )

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def put(self, bucket: str, objects: dict[str, bytes]) -> None:
        """Create ``bucket`` (if needed) holding ``objects`` by key."""
        client = self.client()
        if bucket not in {entry["Name"] for entry in client.list_buckets()["Buckets"]}:
            client.create_bucket(Bucket=bucket)
        for key, body in objects.items():
            client.put_object(Bucket=bucket, Key=key, Body=body)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def s3_server(*, locked: bool = False) -> Iterator[S3Server]:
    """
    Run moto's server on a free port of 127.0.0.1.

    :param locked: enforce authentication, so that every request with the made-up keys is refused.
    """
    port = free_port()
    env = {**os.environ, "MOTO_ALLOW_NONEXISTENT_REGION": "true"}
    if locked:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
    command = ["timeout", str(LIFETIME_SECONDS), sys.executable, "-m", "moto.server", "-H", "127.0.0.1"]
    with subprocess.Popen(
        [*command, "-p", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as process:
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        stderr = process.stderr.read().decode()[-2000:] if process.stderr else ""
                        raise RuntimeError(f"moto's server did not start: {stderr}") from None
                    time.sleep(0.1)
            yield S3Server(url)
        finally:
            stop(process)
