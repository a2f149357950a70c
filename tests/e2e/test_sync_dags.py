"""The person sync through real Airflow: the example twice, and a run killed halfway then resumed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from airflow_cli import kill_dag_test_when, run_dag
from airflow_provider_mi.emulator import MediaIntelligenceEmulator, faults
from airflow_provider_mi.emulator.faces import face_image
from helpers import return_values, task_states, try_numbers

EXAMPLES = Path(__file__).parents[2] / "example_dags"
DAGS = Path(__file__).parent / "dags"
SAMPLE = EXAMPLES / "assets" / "faces"
PEOPLE = 12


def test_the_example_registers_the_sample_set_and_a_second_run_writes_nothing(airflow_home, tmp_path):
    conf = {"manifest_path": str(tmp_path / "manifest.json"), "report_path": str(tmp_path / "report.json")}
    with MediaIntelligenceEmulator() as emulator:
        first = run_dag(EXAMPLES, "example_mi_sync_persons", emulator.airflow_env(), conf=conf)
        assert first.succeeded, first.output[-6000:]
        registered = {
            person.name: len(person.thumbnails) for person in emulator.state.persons("demo-workspace")
        }
        assert registered == {
            folder.name: len(list(folder.glob("*.jpg"))) for folder in SAMPLE.iterdir() if folder.is_dir()
        }
        before = len(emulator.state.requests)
        second = run_dag(EXAMPLES, "example_mi_sync_persons", emulator.airflow_env(), conf=conf)
        assert second.succeeded, second.output[-6000:]
        # One listing, then the read of the workspace for the task's link: no write.
        assert [entry.endpoint for entry in emulator.state.requests[before:]] == ["list-persons", "workspace"]
    summary = return_values(airflow_home, "example_mi_sync_persons")["sync_faces"]
    assert (summary["persons"], summary["unchanged"], summary["changed"]) == (3, 3, {})


@pytest.fixture
def faces(tmp_path: Path) -> Path:
    for number in range(PEOPLE):
        folder = tmp_path / "faces" / f"Person {number:02d}"
        folder.mkdir(parents=True)
        for variant in range(2):
            (folder / f"{variant}.jpg").write_bytes(face_image(200 + number, variant))
    return tmp_path / "faces"


def test_a_sync_killed_halfway_resumes_without_duplicates_through_429s(airflow_home, faces, tmp_path):
    conf = {
        "faces": str(faces),
        "manifest": str(tmp_path / "manifest.json"),
        "report": str(tmp_path / "report.json"),
    }
    with MediaIntelligenceEmulator(latency_seconds=0.1) as emulator:
        kill_dag_test_when(  # at its third person
            DAGS,
            "mi_e2e_sync",
            lambda: len(emulator.state.requests_to("create-person")) >= 3,
            emulator.airflow_env(),
            conf,
        )
        killed_at = len(emulator.state.requests_to("create-person"))
        assert killed_at < PEOPLE, "the run finished before it could be stopped"
        # The person endpoints now throttle: the resumed run waits as Retry-After says.
        emulator.state.inject("compare", faults.http_error(429, "1"), faults.http_error(429, "1"))
        emulator.state.inject("create-person", faults.http_error(429, "1"))
        resumed = run_dag(DAGS, "mi_e2e_sync", emulator.airflow_env(), conf=conf)
        assert resumed.succeeded, resumed.output[-6000:]
        persons = emulator.state.persons("e2e-sync")
        assert sorted(person.name for person in persons) == [f"Person {n:02d}" for n in range(PEOPLE)]
        assert {len(person.thumbnails) for person in persons} == {2}
        creates = Counter(entry.status for entry in emulator.state.requests_to("create-person"))
        assert creates[200] == PEOPLE, f"each person created once: {creates}"
        assert creates[429] == 1
        before = len(emulator.state.requests)
        again = run_dag(DAGS, "mi_e2e_sync", emulator.airflow_env(), conf=conf)
        assert again.succeeded, again.output[-6000:]
        # One listing, then the read of the workspace for the task's link: no write.
        assert [entry.endpoint for entry in emulator.state.requests[before:]] == ["list-persons", "workspace"]
    summary = return_values(airflow_home, "mi_e2e_sync")["sync"]
    assert summary["unchanged"] == PEOPLE


#: Each task of ``mi_e2e_sync_bad_input`` (tests/e2e/dags/mi_e2e_sync_dags.py), and what it must say.
BAD_INPUT = {
    "photo_outside_a_person": "holds photos outside a person's folder (x.jpg)",
    "name_too_long": "a person's name has at most 50",
    "manifest_missing": "does not exist and on_missing_manifest is 'fail'",
    "manifest_of_another_workspace": "is the manifest of workspace 'elsewhere'",
    "manifest_not_json": "is not JSON",
    "manifest_folder_missing": "cannot be written: its folder does not exist",
}


def test_bad_input_fails_before_any_request_and_without_retries(airflow_home, tmp_path):
    good, loose, long_name = tmp_path / "good" / "Ada", tmp_path / "loose", tmp_path / "long" / ("x" * 51)
    for folder in (good, loose, long_name):
        folder.mkdir(parents=True)
    (good / "1.jpg").write_bytes(face_image(1, 0))
    (long_name / "1.jpg").write_bytes(face_image(1, 0))
    (loose / "x.jpg").write_bytes(face_image(1, 0))
    (tmp_path / "other.json").write_text(
        '{"format": 2, "kind": "person-sync", "workspace": "elsewhere", "persons": {}}'
    )
    (tmp_path / "broken.json").write_text("{")
    conf = {
        "good": str(good.parent),
        "loose": str(loose),
        "long_name": str(long_name.parent),
        "fresh": str(tmp_path / "fresh.json"),
        "other": str(tmp_path / "other.json"),
        "broken": str(tmp_path / "broken.json"),
        "nowhere": str(tmp_path / "nowhere" / "m.json"),
    }
    with MediaIntelligenceEmulator() as emulator:
        result = run_dag(DAGS, "mi_e2e_sync_bad_input", emulator.airflow_env(), conf=conf)
    assert emulator.state.requests == [], "nothing may be sent"
    states, tries = (
        task_states(airflow_home, "mi_e2e_sync_bad_input"),
        try_numbers(airflow_home, "mi_e2e_sync_bad_input"),
    )
    for task_id, message in BAD_INPUT.items():
        assert (states[task_id], tries[task_id]) == ("failed", 1), task_id
        assert message in result.output, task_id
