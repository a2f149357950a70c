"""Fixtures of the end-to-end tests: one emulator per module and the connections the DAGs use."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from airflow_provider_mi.emulator import MediaIntelligenceEmulator


@pytest.fixture(scope="module")
def e2e_emulator() -> Iterator[MediaIntelligenceEmulator]:
    """An emulator shared by the tests of one module (each module runs its DAG once)."""
    with MediaIntelligenceEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="module")
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections: bound (so nobody else takes it), never listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture(scope="module")
def e2e_env(e2e_emulator: MediaIntelligenceEmulator, closed_port: int) -> dict[str, str]:
    """
    Connections for the DAG runs: the default, one without HTTP retries, one with a wrong secret,
    and one whose host refuses connections (a typo in the port), also without HTTP retries.
    """
    base = json.loads(e2e_emulator.connection_json())
    no_retry = {**base, "extra": {"max_attempts": 1}}
    wrong_secret = {**base, "password": "not-the-secret"}
    unreachable = {**no_retry, "host": f"http://127.0.0.1:{closed_port}"}
    return {
        **e2e_emulator.airflow_env(),
        "AIRFLOW_CONN_MI_NO_RETRY": json.dumps(no_retry),
        "AIRFLOW_CONN_MI_WRONG_SECRET": json.dumps(wrong_secret),
        "AIRFLOW_CONN_MI_UNREACHABLE": json.dumps(unreachable),
    }
