"""Helpers of the end-to-end tests: images made in memory, and what a DAG run left in the database."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import Any

from PIL import Image

from airflow_provider_mi.emulator.faces import face_image


def png(width: int, height: int, *, pad_to: int = 0) -> bytes:
    """Return a PNG of ``width`` x ``height``, padded with trailing bytes up to ``pad_to`` bytes."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (90, 120, 160)).save(buffer, "PNG")
    data = buffer.getvalue()
    return data + b"\0" * max(0, pad_to - len(data))


def face_photos(folder: Path, photos: Mapping[str, tuple[int, int]]) -> dict[str, str]:
    """
    Write photo ``variant`` of made-up face ``seed`` to ``folder/<name>.jpg`` for each ``name: (seed,
    variant)``; return ``{name: path}``, a DAG run's ``conf``.
    """
    conf = {}
    for name, (seed, variant) in photos.items():
        path = folder / f"{name}.jpg"
        path.write_bytes(face_image(seed, variant))
        conf[name] = str(path)
    return conf


def _latest_run_id(db: sqlite3.Connection, dag_id: str) -> str:
    row = db.execute(
        "SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,)
    ).fetchone()
    assert row, f"no run of {dag_id} in the database"
    return row[0]


def _task_name(task_id: str, map_index: int) -> str:
    return task_id if map_index < 0 else f"{task_id}[{map_index}]"


def _task_instance_column(airflow_home: Path, dag_id: str, column: str) -> dict[str, Any]:
    """Return ``{task_id (or task_id[map_index]): column}`` of the latest run of ``dag_id``."""
    assert column in {"state", "try_number"}
    with closing(sqlite3.connect(airflow_home / "airflow.db")) as db:
        run_id = _latest_run_id(db, dag_id)
        rows = db.execute(
            f"SELECT task_id, map_index, {column} FROM task_instance WHERE dag_id = ? AND run_id = ?",
            (dag_id, run_id),
        ).fetchall()
    return {_task_name(task_id, map_index): value for task_id, map_index, value in rows}


def task_states(airflow_home: Path, dag_id: str) -> dict[str, str | None]:
    """Return ``{task_id (or task_id[map_index]): state}`` of the latest run of ``dag_id``."""
    return _task_instance_column(airflow_home, dag_id, "state")


def try_numbers(airflow_home: Path, dag_id: str) -> dict[str, int]:
    """Return ``{task_id (or task_id[map_index]): try_number}`` of the latest run of ``dag_id``."""
    return _task_instance_column(airflow_home, dag_id, "try_number")


def return_values(airflow_home: Path, dag_id: str) -> dict[str, Any]:
    """Return ``{task_id (or task_id[map_index]): return_value XCom}`` of the latest run of ``dag_id``."""
    with closing(sqlite3.connect(airflow_home / "airflow.db")) as db:
        run_id = _latest_run_id(db, dag_id)
        rows = db.execute(
            "SELECT task_id, map_index, value FROM xcom WHERE dag_id = ? AND run_id = ? AND key = ?",
            (dag_id, run_id, "return_value"),
        ).fetchall()
    return {_task_name(task_id, map_index): _xcom_value(value) for task_id, map_index, value in rows}


def _xcom_value(stored: str) -> Any:
    """Decode a stored XCom: JSON, which Airflow 3 may hold as a JSON string of JSON."""
    decoded = json.loads(stored)
    if isinstance(decoded, str):
        try:
            return json.loads(decoded)
        except json.JSONDecodeError:
            return decoded  # a plain string value
    return decoded


def asset_event_extras(airflow_home: Path, dag_id: str) -> dict[str, list[tuple[str, Any]]]:
    """
    Return ``{task_id: [(asset uri, extra), ...]}``: the asset events (Airflow 2: dataset events)
    the latest run of ``dag_id`` emitted, as the metadata database holds them.
    """
    with closing(sqlite3.connect(airflow_home / "airflow.db")) as db:
        run_id = _latest_run_id(db, dag_id)
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        kind = "asset" if "asset_event" in tables else "dataset"
        rows = db.execute(
            f"SELECT e.source_task_id, a.uri, e.extra FROM {kind}_event e "
            f"JOIN {kind} a ON a.id = e.{kind}_id "
            "WHERE e.source_dag_id = ? AND e.source_run_id = ? ORDER BY e.id",
            (dag_id, run_id),
        ).fetchall()
    events: dict[str, list[tuple[str, Any]]] = {}
    for task_id, uri, extra in rows:
        events.setdefault(task_id, []).append((uri, _xcom_value(extra) if extra else {}))
    return events


def xcoms(airflow_home: Path, dag_id: str, key: str) -> dict[str, Any]:
    """Return ``{task_id: value}`` of the XComs ``key`` of the latest run of ``dag_id``."""
    with closing(sqlite3.connect(airflow_home / "airflow.db")) as db:
        run_id = _latest_run_id(db, dag_id)
        rows = db.execute(
            "SELECT task_id, map_index, value FROM xcom WHERE dag_id = ? AND run_id = ? AND key = ?",
            (dag_id, run_id, key),
        ).fetchall()
    return {_task_name(task_id, map_index): _xcom_value(value) for task_id, map_index, value in rows}
