"""The tests' Airflow, in this process and in subprocesses, runs in the session's own home."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


def test_this_process_uses_the_session_home(airflow_home: Path) -> None:
    from airflow.configuration import AIRFLOW_HOME, conf

    assert Path(AIRFLOW_HOME) == airflow_home
    assert conf.get("database", "sql_alchemy_conn") == f"sqlite:///{airflow_home}/airflow.db"
    assert conf.getboolean("core", "load_examples") is False
    assert conf.get("core", "test_connection") == "Enabled"


def test_commands_use_the_session_home_and_its_migrated_database(
    airflow_home: Path, airflow_cli: Callable[..., Any]
) -> None:
    database = airflow_cli("config", "get-value", "database", "sql_alchemy_conn")
    check = airflow_cli("db", "check-migrations", "--migration-wait-timeout", "1")

    assert database.returncode == 0, database.stderr
    assert database.stdout.strip().splitlines()[-1] == f"sqlite:///{airflow_home}/airflow.db"
    assert (airflow_home / "airflow.db").is_file()
    assert check.returncode == 0, check.stdout + check.stderr
