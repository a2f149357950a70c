"""``wait_for_completion`` of the upload operators through real Airflow, in the task and deferred."""

from __future__ import annotations

import json

import pytest

from airflow_cli import run_dag
from helpers import png, return_values, task_states, try_numbers
from test_operator_dags import DAGS

DAG_ID = "mi_e2e_wait"
WORKSPACE = "e2e-wait"
MODES = ("in_task", "deferred")


@pytest.fixture(scope="module")
def wait_run(airflow_home, e2e_emulator, e2e_env, tmp_path_factory):
    """Uploads visible 2 s after they land; three good images and one too small for the bulk tasks."""
    e2e_emulator.state.visibility_delay = 2.0
    folder = tmp_path_factory.mktemp("wait-faces")
    for number in range(3):
        (folder / f"face-{number}.png").write_bytes(png(300, 300))
    (folder / "tiny.png").write_bytes(png(64, 64))
    image = folder.parent / "single.png"
    image.write_bytes(png(300, 300))
    reports = tmp_path_factory.mktemp("wait-reports")
    conf = {"image": str(image), "folder": str(folder), "reports": str(reports)}
    result = run_dag(DAGS, DAG_ID, env=e2e_env, conf=conf, timeout=300)
    return result, task_states(airflow_home, DAG_ID), return_values(airflow_home, DAG_ID), reports


@pytest.mark.parametrize("mode", MODES)
def test_single_upload_waits_until_completed(wait_run, e2e_emulator, mode):
    _, states, values, _ = wait_run
    task_id = f"single_{mode}"
    assert states[task_id] == "success"
    value = values[task_id]
    assert (value["uploadStatus"], value["uploadMessage"]) == ("COMPLETED", None)
    checks = [
        e.status
        for e in e2e_emulator.state.requests_to("complete")
        if e.thumbnail_key == value["thumbnailKey"]
    ]
    assert len(checks) >= 2, "the upload's own check saw FILE_NOT_EXIST, a later one COMPLETED"


@pytest.mark.parametrize("mode", MODES)
def test_bulk_upload_waits_and_returns_the_compact_result(wait_run, mode):
    _, states, values, reports = wait_run
    task_id = f"bulk_{mode}"
    assert states[task_id] == "success"
    assert values[task_id] == {
        "files": 4,
        "completed": 3,
        "waiting": 0,
        "failed": 1,
        "waitingKeys": [],
        "report": str(reports / f"{mode}.json"),
    }
    report = json.loads((reports / f"{mode}.json").read_text())
    assert report["counts"] == {"completed": 3, "failed": 1}


def test_each_deferrable_task_deferred_once(wait_run):
    result, _, _, _ = wait_run
    # single_deferred, bulk_deferred (all three keys) and bulk_deferred_timeout: one trigger each
    assert result.output.count("running trigger in line") == 3
    assert "Waiting for 3 thumbnails to be COMPLETED" in result.output, "bulk_in_task waited in the task"


def test_a_deferred_wait_past_its_timeout_fails_naming_the_keys_without_retries(wait_run, airflow_home):
    result, states, _, _ = wait_run
    assert states["bulk_deferred_timeout"] == "failed"
    assert try_numbers(airflow_home, DAG_ID)["bulk_deferred_timeout"] == 1, (
        "retries=2, but a retry uploads again"
    )
    assert "not COMPLETED within timeout=0.5 s" in result.output
    assert (
        f"Of 3 thumbnails in workspace {WORKSPACE}: 0 completed; 3 not completed: 'persons/thumbnails/"
        in (result.output)
    )
