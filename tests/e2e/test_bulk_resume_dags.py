"""
A bulk upload through real Airflow killed halfway (``SIGKILL``), then run again: it resumes from its
manifest and the emulator's log proves that no file was uploaded twice; a run after that sends nothing.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from airflow_cli import kill_dag_test_when, run_dag
from airflow_provider_mi.emulator import MediaIntelligenceEmulator
from helpers import png, return_values, task_states, try_numbers

DAGS = Path(__file__).parent / "dags"
DAG_ID = "mi_e2e_bulk_resume"
FILES = 80


def keys_by_file(emulator: MediaIntelligenceEmulator, endpoint: str) -> dict[str, list[str]]:
    """The keys of the answered requests to ``endpoint``, by file name (the emulator's keys end with it)."""
    keys: dict[str, list[str]] = defaultdict(list)
    for entry in emulator.state.requests_to(endpoint):
        if entry.status == 200 and entry.thumbnail_key:
            # persons/thumbnails/<10 characters of the URL's token>-<file name>
            keys[entry.thumbnail_key.rsplit("/", 1)[1][11:]].append(entry.thumbnail_key)
    return keys


def test_a_batch_killed_halfway_resumes_without_uploading_any_file_twice(airflow_home, tmp_path):
    folder = tmp_path / "faces"
    folder.mkdir()
    for number in range(FILES):
        (folder / f"face-{number:03d}.png").write_bytes(png(300, 300))
    report = tmp_path / "report.json"
    conf = {"folder": str(folder), "manifest": str(tmp_path / "manifest.json"), "report": str(report)}
    names = sorted(path.name for path in folder.iterdir())
    with MediaIntelligenceEmulator(latency_seconds=0.1) as emulator:
        env = emulator.airflow_env()
        kill_dag_test_when(
            DAGS, DAG_ID, lambda: len(emulator.state.requests_to("complete")) >= FILES // 3, env, conf
        )
        sent_before_the_kill = keys_by_file(emulator, "storage")
        assert 0 < len(sent_before_the_kill) < FILES, "killed halfway"

        resumed = run_dag(DAGS, DAG_ID, env, conf=conf)
        assert resumed.succeeded, resumed.output[-6000:]
        said = re.search(r"Resuming: (\d+) of 80 files already done", resumed.output)
        assert said and int(said[1]) > 0, resumed.output[-6000:]
        uploads = keys_by_file(emulator, "storage")
        assert sorted(uploads) == names
        twice = {name: keys for name, keys in uploads.items() if len(keys) > 1}
        assert twice == {}, "no file was uploaded twice"
        presigned = keys_by_file(emulator, "presigned-url")
        for name, keys in presigned.items():
            # A second key only for a file whose first one was never used: killed between the two.
            assert keys[-1] == uploads[name][0] and len(keys) <= 2, (name, keys, uploads[name])
            assert name not in sent_before_the_kill or len(keys) == 1, (name, keys)
        completed = {
            entry.thumbnail_key for entry in emulator.state.requests_to("complete") if entry.status == 200
        }
        assert {keys[0] for keys in uploads.values()} <= completed, "every file's upload was completed"
        entries = json.loads(report.read_text())["files"]
        assert [entry["state"] for entry in entries] == ["completed"] * FILES
        assert [entry["thumbnailKey"] for entry in entries] == [uploads[name][0] for name in names]
        summary = return_values(airflow_home, DAG_ID)["bulk"]
        assert (summary["files"], summary["completed"], summary["failed"]) == (FILES, FILES, 0)

        before = len(emulator.state.requests)
        again = run_dag(DAGS, DAG_ID, env, conf=conf)
        assert again.succeeded, again.output[-6000:]
        # Nothing for the files; the read of the workspace for the task's link.
        assert [entry.endpoint for entry in emulator.state.requests[before:]] == ["workspace"]
        entries = json.loads(report.read_text())["files"]
        assert [(entry["state"], entry["earlier"]) for entry in entries] == [("completed", True)] * FILES
        assert "Resuming: 80 of 80 files already done" in again.output


#: Each task of ``mi_e2e_bulk_bad_manifest`` (tests/e2e/dags/mi_e2e_bulk_dags.py), and what it must say.
BAD_MANIFESTS = {
    "manifest_of_a_sync": "is the manifest of a person sync, not of a bulk upload",
    "manifest_of_another_workspace": "is the manifest of workspace 'elsewhere', not 'e2e-bulk'",
    "manifest_not_json": "is not JSON",
    "manifest_folder_missing": "cannot be written: its folder does not exist",
    "manifest_is_a_folder": "is a folder; name a file in it",
}


def test_a_bad_manifest_path_fails_before_any_request_and_without_retries(airflow_home, tmp_path):
    (tmp_path / "face.png").write_bytes(png(300, 300))
    (tmp_path / "sync.json").write_text(
        '{"format": 2, "kind": "person-sync", "workspace": "e2e-bulk", "persons": {}}'
    )
    (tmp_path / "other.json").write_text(
        '{"format": 2, "kind": "bulk-upload", "workspace": "elsewhere", "files": {}}'
    )
    (tmp_path / "broken.json").write_text("{")
    conf = {
        "image": str(tmp_path / "face.png"),
        "sync": str(tmp_path / "sync.json"),
        "other": str(tmp_path / "other.json"),
        "broken": str(tmp_path / "broken.json"),
        "nowhere": str(tmp_path / "nowhere" / "m.json"),
        "folder": str(tmp_path),
    }
    with MediaIntelligenceEmulator() as emulator:
        result = run_dag(DAGS, "mi_e2e_bulk_bad_manifest", emulator.airflow_env(), conf=conf)
    assert emulator.state.requests == [], "nothing may be sent"
    states = task_states(airflow_home, "mi_e2e_bulk_bad_manifest")
    tries = try_numbers(airflow_home, "mi_e2e_bulk_bad_manifest")
    for task_id, message in BAD_MANIFESTS.items():
        assert (states[task_id], tries[task_id]) == ("failed", 1), task_id
        assert message in result.output, task_id
