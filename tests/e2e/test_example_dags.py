"""The shipped example DAGs, as ``scripts/demo`` runs them: real ``airflow dags test`` runs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from airflow_cli import run_dag
from airflow_provider_mi.emulator import MediaIntelligenceEmulator
from helpers import return_values, task_states

EXAMPLES = Path(__file__).parents[2] / "example_dags"


@pytest.fixture
def late_emulator():
    """An emulator whose uploads become visible 3 s late, as in the demo, so sensors really wait."""
    with MediaIntelligenceEmulator(visibility_delay=3.0) as emulator:
        yield emulator


BULK = "example_mi_bulk_upload"  # run by their own tests below, which check more of them
LIFECYCLE = "example_mi_person_lifecycle"
SYNC = "example_mi_sync_persons"  # run twice by tests/e2e/test_sync_dags.py


@pytest.mark.parametrize(
    "dag_id", sorted({path.stem for path in EXAMPLES.glob("example_*.py")} - {BULK, LIFECYCLE, SYNC})
)
def test_example_dag_succeeds(airflow_home, late_emulator, dag_id):
    result = run_dag(EXAMPLES, dag_id, late_emulator.airflow_env())
    assert result.succeeded, result.output[-6000:]
    assert set(task_states(airflow_home, dag_id).values()) <= {"success", "skipped"}
    assert late_emulator.state.requests, "the DAG called the API"


def test_bulk_example_uploads_every_image_and_waits_for_the_late_ones(airflow_home, late_emulator):
    result = run_dag(EXAMPLES, BULK, late_emulator.airflow_env())
    assert result.succeeded, result.output[-6000:]
    calls = Counter(entry.endpoint for entry in late_emulator.state.requests)
    assert calls["presigned-url"] == calls["storage"] == 40
    summary = return_values(airflow_home, BULK)["upload_folder"]
    assert summary == {
        "files": 40,
        "completed": 40,
        "waiting": 0,
        "failed": 0,
        "waitingKeys": [],
        "report": None,
    }
    assert set(task_states(airflow_home, BULK).values()) == {"success"}
    assert result.output.count("running trigger in line") <= 1, "one trigger for all the late keys"
    # The wait, in the triggerer, came back to the task, which kept its outcome in the manifest.
    folder = Path(return_values(airflow_home, BULK)["stage_images"])
    files = json.loads((folder / "manifest.json").read_text())["files"]
    assert len(files) == 40
    assert all(entry["completed"] and entry["landed"] for entry in files.values())
    # One completion per upload, plus the trigger's checks of the late ones.
    assert calls["complete"] >= 40


def test_lifecycle_example_registers_merges_removes_and_deletes_the_person(airflow_home, late_emulator):
    result = run_dag(EXAMPLES, LIFECYCLE, late_emulator.airflow_env())
    assert result.succeeded, result.output[-6000:]
    values = return_values(airflow_home, LIFECYCLE)
    person = values["register_person"]["personId"]
    duplicate = values["register_duplicate"]["personId"]
    added = values["add_photo"]["addedThumbnailIds"]

    assert [values[task]["action"] for task in ("register_person", "add_photo", "register_duplicate")] == [
        "created",
        "attached",
        "created",
    ]
    assert duplicate != person
    assert values["preview_merge"]["dryRun"] is True
    assert values["preview_merge"]["merged"] is False
    assert values["merge_duplicate"]["merged"] is True
    assert [merged["personId"] for merged in values["merge_duplicate"]["mergedPersons"]] == [duplicate]
    assert values["merge_duplicate"]["thumbnailCount"] == 3
    assert len(added) == 1
    assert values["remove_photo"]["removed"] == added
    assert values["delete_person"] == {"personId": person, "deleted": True, "name": "Hong Gildong"}
    assert late_emulator.state.persons("demo-workspace") == [], "the workspace is left as it was"
