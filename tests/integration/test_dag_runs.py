"""The hook inside real DAG runs (``airflow dags test``), and the test helpers that run them."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from airflow_cli import DagTestResult, final_dag_run_state, run_airflow
from airflow_provider_mi.emulator import DEFAULT_SECRET_KEY, MediaIntelligenceEmulator

RunDag = Callable[..., DagTestResult]


def test_a_dag_uploads_through_the_hook(
    run_dag: RunDag, dags_folder: Path, mi_emulator: MediaIntelligenceEmulator
) -> None:
    result = run_dag(dags_folder, "mi_hook_upload", conf={"workspace_name": "from-dag-conf"})

    assert result.succeeded, result.output
    assert result.state == "success"
    assert result.process.returncode == 0
    requests = mi_emulator.state.requests
    assert [(entry.endpoint, entry.status) for entry in requests] == [
        ("presigned-url", 200),
        ("storage", 200),
        ("complete", 200),
    ]
    assert requests[0].path.startswith("/api/v1/workspaces/from-dag-conf/")
    assert DEFAULT_SECRET_KEY not in result.output


def test_a_failing_task_fails_the_run(
    run_dag: RunDag, dags_folder: Path, mi_emulator: MediaIntelligenceEmulator
) -> None:
    result = run_dag(dags_folder, "mi_hook_rejected")

    assert not result.succeeded
    assert result.state == "failed"
    assert result.process.returncode != 0  # both 3.3 and 2.11.2 exit non-zero on a failed run
    assert "RESOLUTION_NOT_SUPPORT" in result.output
    assert mi_emulator.state.requests == []


def test_an_unknown_dag_is_not_a_success(run_dag: RunDag, dags_folder: Path) -> None:
    result = run_dag(dags_folder, "no_such_dag")

    assert not result.succeeded
    assert result.state is None
    assert result.process.returncode != 0


@pytest.mark.parametrize(
    ("output", "state"),
    [
        ("... DagRun Finished: dag_id=a, logical_date=x, state=success, run_type=manual", "success"),
        (
            "DagRun Finished: dag_id=a, execution_date=x, run_id=y, state=failed, external_trigger=False",
            "failed",
        ),
        ("DagRun Finished: dag_id=b, state=success\nDagRun Finished: dag_id=a, state=failed,", "failed"),
        ("DagRun Finished: dag_id=a, state=failed\nDagRun Finished: dag_id=a, state=success", "success"),
        ("DagRun Finished: dag_id=ab, state=success", None),
        ("Dag 'a' could not be found", None),
    ],
)
def test_final_dag_run_state(output: str, state: str | None) -> None:
    assert final_dag_run_state(output, "a") == state


def test_a_command_over_its_timeout_is_killed() -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        run_airflow(["dags", "list"], timeout=0.01)
