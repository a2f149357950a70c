"""The bulk operator stopped by rejected credentials, through real Airflow against the emulator."""

from __future__ import annotations

import json

import pytest

from airflow_cli import run_dag
from helpers import png, task_states, try_numbers
from test_operator_dags import DAGS
from test_sensor_dags import AUTH_FAILED, PASS

DAG_ID = "mi_e2e_bulk_rejected"
TASK_ID = "credentials_rejected_mid_batch"


@pytest.fixture(scope="module")
def rejected_run(airflow_home, e2e_emulator, e2e_env, tmp_path_factory):
    """Five images; the gateway accepts two presigned-URL calls, then rejects the credentials."""
    folder = tmp_path_factory.mktemp("faces")
    for number in range(5):
        (folder / f"face-{number}.png").write_bytes(png(300, 300))
    report = folder.parent / "report.json"
    e2e_emulator.state.inject("presigned-url", PASS, PASS, AUTH_FAILED)
    result = run_dag(DAGS, DAG_ID, env=e2e_env, conf={"folder": str(folder), "report": str(report)})
    return result, report


def test_the_task_fails_at_once_without_its_retries(rejected_run, airflow_home):
    result, _ = rejected_run
    assert task_states(airflow_home, DAG_ID) == {TASK_ID: "failed"}
    assert try_numbers(airflow_home, DAG_ID) == {TASK_ID: 1}, "retries=2, but a retry cannot help"
    assert "Of 5 files: 2 completed, 0 waiting to be seen by the API, 3 failed (the rest not sent)" in (
        result.output
    )


def test_what_was_done_is_reported(rejected_run):
    result, report = rejected_run
    files = json.loads(report.read_text())["files"]
    assert [entry["state"] for entry in files] == ["completed"] * 2 + ["failed"] * 3
    assert all(entry["thumbnailKey"] for entry in files[:2])
    for entry in files:
        assert entry["file"] in result.output, "the log lists every file too"
