"""
Asset events, the workspace link and OpenLineage through real Airflow: one ``airflow dags test``
run of upload, bulk upload and sync tasks, with the OpenLineage provider's console transport.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from airflow_cli import airflow_major_version, run_airflow, run_dag
from airflow_provider_mi.emulator import MediaIntelligenceEmulator
from airflow_provider_mi.emulator.faces import face_image
from airflow_provider_mi.lineage import hostname
from helpers import asset_event_extras, task_states, xcoms

pytest.importorskip("airflow.providers.openlineage", reason="the openlineage extra is not installed")

DAGS = Path(__file__).parent / "dags"
DAG_ID = "mi_e2e_lineage"
WORKSPACE = "e2e-lineage"
CONSOLE = {"AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "console"})}


@pytest.fixture(scope="module")
def lineage_run(airflow_home, tmp_path_factory):
    """The DAG run, its output, the emulator's request log and the folders the tasks read."""
    root = tmp_path_factory.mktemp("lineage")
    (root / "photo.jpg").write_bytes(face_image(31, 0))
    (root / "folder").mkdir()
    for number in range(3):
        (root / "folder" / f"{number}.jpg").write_bytes(face_image(40 + number, 0))
    for person, seed in (("Ada Kim", 51), ("Bo Lee", 52)):
        (root / "faces" / person).mkdir(parents=True)
        (root / "faces" / person / "1.jpg").write_bytes(face_image(seed, 0))
    conf = {
        "photo": str(root / "photo.jpg"),
        "folder": str(root / "folder"),
        "faces": str(root / "faces"),
        "manifest": str(root / "manifest.json"),
    }
    with MediaIntelligenceEmulator() as emulator:
        if airflow_major_version() < 3:
            # Airflow 2 records a dataset event only for a dataset in its database, which DAG
            # parsing puts there, and `dags test` does not.
            folder = {"AIRFLOW__CORE__DAGS_FOLDER": str(DAGS)}
            reserialized = run_airflow(["dags", "reserialize"], {**emulator.airflow_env(), **folder})
            assert reserialized.returncode == 0, reserialized.stderr[-4000:]
            assert emulator.state.requests == [], "parsing the DAGs sent requests"
        result = run_dag(DAGS, DAG_ID, {**emulator.airflow_env(), **CONSOLE}, conf=conf)
        assert result.succeeded, result.output[-8000:]
        yield result, emulator, root


def test_every_task_reads_its_workspace_once_and_keeps_its_url(airflow_home, lineage_run):
    _, emulator, _ = lineage_run
    assert set(task_states(airflow_home, DAG_ID).values()) == {"success"}
    url = f"{emulator.url}/_emulator/workspaces/{WORKSPACE}"
    assert [entry.path for entry in emulator.state.requests_to("workspace")] == [
        f"/api/v1/workspaces/{WORKSPACE}"
    ] * 3
    assert xcoms(airflow_home, DAG_ID, "mi_workspace_url") == {"upload": url, "bulk": url, "sync": url}
    if airflow_major_version() >= 3:  # the worker resolves the link at the end of the task
        assert xcoms(airflow_home, DAG_ID, "_link_MediaIntelligenceWorkspaceLink") == {
            "upload": url,
            "bulk": url,
            "sync": url,
        }


def test_the_asset_events_carry_keys_counts_and_person_ids(airflow_home, lineage_run):
    _, emulator, _ = lineage_run
    events = asset_event_extras(airflow_home, DAG_ID)
    thumbnails, persons = f"ncp-mi://{WORKSPACE}/person-thumbnails", f"ncp-mi://{WORKSPACE}/persons"
    [(uri, upload)] = events["upload"]
    assert uri == thumbnails
    assert upload["workspace"] == WORKSPACE and upload["uploadStatus"] == "COMPLETED"
    [key] = upload["thumbnailKeys"]
    [(uri, bulk)] = events["bulk"]
    assert uri == thumbnails
    assert (bulk["files"], bulk["completed"] + bulk["waiting"], bulk["failed"]) == (3, 3, 0)
    assert len(bulk["thumbnailKeys"]) == 3 and key not in bulk["thumbnailKeys"]
    [(uri, sync)] = events["sync"]
    assert uri == persons
    registered = {person.name: str(person.person_id) for person in emulator.state.persons(WORKSPACE)}
    assert sync["changed"] == registered and set(registered) == {"Ada Kim", "Bo Lee"}
    assert (sync["persons"], sync["created"], sync["failed"]) == (2, 2, 0)


def events_of(output: str) -> list[dict]:
    """The OpenLineage events the console transport printed (one JSON object a line)."""
    found = []
    for match in re.finditer(r'\{"eventTime".*\}|\{"eventType".*\}', output):
        try:
            found.append(json.loads(match.group(0)))
        except json.JSONDecodeError:
            continue
    return found


def test_openlineage_events_name_the_files_read_and_the_workspace_written(lineage_run):
    result, emulator, root = lineage_run
    namespace = "ncp-media-intelligence://" + emulator.url.split("://", 1)[1]
    complete = {
        event["job"]["name"]: event for event in events_of(result.output) if event["eventType"] == "COMPLETE"
    }
    datasets = {
        task: (
            [(d["namespace"], d["name"]) for d in complete[f"{DAG_ID}.{task}"]["inputs"]],
            [(d["namespace"], d["name"]) for d in complete[f"{DAG_ID}.{task}"]["outputs"]],
        )
        for task in ("upload", "bulk", "sync")
    }
    files = f"file://{hostname()}"
    assert datasets["upload"] == (
        [(files, str(root / "photo.jpg"))],
        [(namespace, f"{WORKSPACE}/person-thumbnails")],
    )
    assert datasets["bulk"] == (
        [(files, str(root / "folder"))],
        [(namespace, f"{WORKSPACE}/person-thumbnails")],
    )
    assert datasets["sync"] == (
        [(files, str(root / "faces"))],
        [(namespace, f"{WORKSPACE}/persons"), (namespace, f"{WORKSPACE}/person-thumbnails")],
    )
