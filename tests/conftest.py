"""
Fixtures shared by all tests: the Airflow home of the session and runners of real Airflow commands.

Airflow reads ``AIRFLOW_HOME`` when it is first imported, so this module points it at the test
home at import time, before any test module (or fixture) imports Airflow. The home is the fresh
one ``scripts/test`` made for the environment under test, or a temporary directory (removed at
the end) when pytest is run directly. The emulator fixture ``mi_emulator`` comes from the
package's own pytest plugin.

Shared helpers live in ``tests/airflow_cli.py``; pytest puts ``tests/`` on ``sys.path`` (its
default "prepend" import mode), so tests import them as ``from airflow_cli import ...``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

import airflow_cli as cli
from redis_server import RedisServer

AIRFLOW_HOME, _HOME_IS_TEMPORARY = cli.prepare_airflow_env()

#: DAG files the tests run with ``airflow dags test``.
TEST_DAGS_DIR = Path(__file__).parent / "dags"


def pytest_unconfigure(config: pytest.Config) -> None:
    if _HOME_IS_TEMPORARY:
        shutil.rmtree(AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    """The session's AIRFLOW_HOME, its metadata database migrated (once per session)."""
    cli.migrate_db()
    return AIRFLOW_HOME


@pytest.fixture(scope="session")
def airflow_cli(airflow_home: Path) -> Callable[..., Any]:
    """
    ``airflow_cli(*args, env=None, timeout=120)``: run ``python -m airflow *args`` in a subprocess.

    It returns the :class:`subprocess.CompletedProcess` (stdout and stderr captured as text). The
    command sees ``os.environ`` as it is at call time (e.g. the connection ``mi_emulator`` set)
    plus ``env``.
    """

    def run(*args: str, env: Mapping[str, str] | None = None, timeout: float = cli.DEFAULT_TIMEOUT) -> Any:
        return cli.run_airflow(args, env, timeout)

    return run


@pytest.fixture(scope="session")
def run_dag(airflow_home: Path) -> Callable[..., cli.DagTestResult]:
    """
    ``run_dag(dag_file_dir, dag_id, env=None, conf=None)``: run ``airflow dags test`` on one DAG.

    It returns a :class:`airflow_cli.DagTestResult`: the finished process, the run's final state
    and ``succeeded``.
    """
    return cli.run_dag


@pytest.fixture(scope="session")
def dags_folder() -> Path:
    """The folder of the DAG files written for the tests (``tests/dags``)."""
    return TEST_DAGS_DIR


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real ``redis-server`` on 127.0.0.1 for the session (skips the test if none can be installed)."""
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.close()
