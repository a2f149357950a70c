"""
The bulk upload with a manifest, against the emulator over real HTTP: a second run sends nothing,
and a run stopped at any step resumes without sending any file's bytes twice.

A stop is played as a worker's death: from the chosen moment on the manifest is never written again
(a killed process saves nothing, not even at the end), so the next run sees what a ``SIGKILL`` at
that moment would have left on disk.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections import Counter
from pathlib import Path

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException
from PIL import Image

from airflow_provider_mi import storage
from airflow_provider_mi.core.manifest import KEY_REUSE_SECONDS
from airflow_provider_mi.emulator import Fault
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook
from airflow_provider_mi.operators.bulk_upload import MediaIntelligenceBulkUploadPersonThumbnailsOperator

WORKSPACE = "bulk-workspace"
FILES = 6


def image(size: int = 300) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), "teal").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    faces = tmp_path / "faces"
    faces.mkdir()
    for number in range(FILES):
        (faces / f"face-{number}.png").write_bytes(image())
    return faces


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    return tmp_path / "manifest.json"


def bulk(folder: Path, manifest: Path, **kwargs) -> dict:
    kwargs.setdefault("workspace_name", WORKSPACE)
    report = manifest.parent / "report.json"
    operator = MediaIntelligenceBulkUploadPersonThumbnailsOperator(
        task_id="bulk", sources=str(folder), manifest_path=str(manifest), report_path=str(report), **kwargs
    )
    summary = operator.execute(context={})
    return {**summary, "entries": json.loads(report.read_text())["files"]}


def per_file(emulator, endpoint: str) -> Counter[str]:
    """How many requests to ``endpoint`` each file had, by file name (the emulator's keys end with it)."""
    return Counter(
        entry.thumbnail_key.rsplit("-", 1)[-1]
        for entry in emulator.state.requests_to(endpoint)
        if entry.status == 200 and entry.thumbnail_key
    )


EVERY_FILE_ONCE = Counter({f"{number}.png": 1 for number in range(FILES)})


def test_a_second_run_sends_nothing_and_reports_every_file_completed(mi_emulator, folder, manifest, caplog):
    first = bulk(folder, manifest)
    assert (first["completed"], first["failed"]) == (FILES, 0)
    recorded = json.loads(manifest.read_text())
    assert (recorded["kind"], recorded["workspace"]) == ("bulk-upload", WORKSPACE)
    assert all(entry["completed"] and entry["landed"] for entry in recorded["files"].values())
    before = len(mi_emulator.state.requests)
    caplog.set_level(logging.INFO)
    second = bulk(folder, manifest)
    assert mi_emulator.state.requests[before:] == [], "nothing is sent for what is done"
    assert (second["completed"], second["failed"], second["waitingKeys"]) == (FILES, 0, [])
    assert [entry["earlier"] for entry in second["entries"]] == [True] * FILES
    assert [entry["thumbnailKey"] for entry in second["entries"]] == [
        entry["thumbnailKey"] for entry in first["entries"]
    ]


def test_every_key_is_on_disk_before_its_file_is_sent(mi_emulator, folder, manifest, monkeypatch):
    on_disk_at_put = []
    original = MediaIntelligenceHook.put_thumbnail

    def put_thumbnail(self, presigned, data):
        keys = {entry["thumbnailKey"] for entry in json.loads(manifest.read_text())["files"].values()}
        on_disk_at_put.append(presigned.thumbnail_key in keys)
        return original(self, presigned, data)

    monkeypatch.setattr(MediaIntelligenceHook, "put_thumbnail", put_thumbnail)
    bulk(folder, manifest, max_concurrency=3)
    assert on_disk_at_put == [True] * FILES


class Death(BaseException):
    """The worker dies (as ``KeyboardInterrupt`` would stop it, but nothing is saved afterwards)."""


def die_after(monkeypatch, method: str, calls: int) -> None:
    """
    Make the hook's ``method`` do its work and then kill the worker on its ``calls``-th call;
    from then on the manifest is never written again.
    """
    original = getattr(MediaIntelligenceHook, method)
    save_json = storage.save_json
    made, dead = [], []

    def dying(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        made.append(result)
        if len(made) == calls:
            dead.append(True)
            raise Death
        return result

    def save_unless_dead(location, payload):
        if not dead:
            save_json(location, payload)

    monkeypatch.setattr(MediaIntelligenceHook, method, dying)
    monkeypatch.setattr(storage, "save_json", save_unless_dead)


@pytest.mark.parametrize(
    ("method", "calls"),
    [
        # A key was issued and not saved yet: nothing was sent with it; the file gets another.
        ("create_presigned_upload", 5),
        # A file's bytes landed under a saved key, completion was not asked: it is asked now.
        ("put_thumbnail", 2),
        # Completion answered and the answer was not saved: it is asked again.
        ("complete_person_thumbnail_upload", 2),
    ],
)
def test_a_worker_killed_at_any_step_resumes_without_sending_any_file_twice(
    mi_emulator, folder, manifest, monkeypatch, method, calls
):
    # A low completion limit keeps few keys ahead of the uploads (2 threads + 2), so that keys are
    # issued, saved and sent in turns, as in a batch larger than that.
    conn = {**json.loads(mi_emulator.connection_json()), "extra": {"complete_calls_per_minute": 60}}
    monkeypatch.setenv("AIRFLOW_CONN_NCP_MI_DEFAULT", json.dumps(conn))
    with monkeypatch.context() as patched, pytest.raises(Death):
        die_after(patched, method, calls)
        bulk(folder, manifest, max_concurrency=2)
    sent_before = per_file(mi_emulator, "storage")
    issued_before = per_file(mi_emulator, "presigned-url")
    resumed = bulk(folder, manifest, max_concurrency=2)
    assert (resumed["completed"], resumed["failed"]) == (FILES, 0)
    assert per_file(mi_emulator, "storage") == EVERY_FILE_ONCE, "no file's bytes went twice"
    issued_again = per_file(mi_emulator, "presigned-url") - issued_before
    assert sent_before, "the worker died after some uploads"
    assert not set(issued_again) & set(sent_before), "a file whose bytes went gets no other key"
    keys = {entry["thumbnailKey"] for entry in resumed["entries"]}
    uploaded = {entry.thumbnail_key for entry in mi_emulator.state.requests_to("storage")}
    assert keys == uploaded, "each file is reported under the key its bytes went to"


def test_a_landed_key_the_api_does_not_see_yet_is_waited_for_not_uploaded_again(
    mi_emulator, folder, manifest, monkeypatch
):
    mi_emulator.state.visibility_delay = 3600
    first = bulk(folder, manifest)
    assert first["waiting"] == FILES
    second = bulk(folder, manifest)
    assert second["waitingKeys"] == first["waitingKeys"]
    assert per_file(mi_emulator, "storage") == EVERY_FILE_ONCE
    mi_emulator.state.make_all_visible()
    third = bulk(folder, manifest)
    assert third["completed"] == FILES
    assert per_file(mi_emulator, "complete") == Counter({name: 3 for name in EVERY_FILE_ONCE})
    before = len(mi_emulator.state.requests)
    assert bulk(folder, manifest)["completed"] == FILES
    assert mi_emulator.state.requests[before:] == []


def test_the_wait_s_outcome_is_kept_so_the_next_run_asks_nothing(mi_emulator, folder, manifest):
    mi_emulator.state.visibility_delay = 0.3
    waited = bulk(folder, manifest, wait_for_completion=True, deferrable=False, poll_interval=0.2, timeout=30)
    assert (waited["completed"], waited["waiting"]) == (FILES, 0)
    before = len(mi_emulator.state.requests)
    assert bulk(folder, manifest)["completed"] == FILES
    assert mi_emulator.state.requests[before:] == []


REFUSED = Fault(
    200,
    json.dumps(
        {
            "code": "0",
            "message": "success",
            "result": {"uploadStatus": "FAILED", "uploadMessage": "OVER_SIZE_LIMIT"},
        }
    ).encode(),
    (("Content-Type", "application/json"),),
    name="refused",
)


def test_a_file_the_api_refused_is_not_sent_again_until_it_changes(mi_emulator, folder, manifest):
    mi_emulator.state.inject("complete", REFUSED)
    with pytest.raises(AirflowException, match=r"1 of 6 files failed .*OVER_SIZE_LIMIT") as failure:
        bulk(folder, manifest, max_concurrency=1)
    assert not isinstance(failure.value, AirflowFailException), "with a manifest, a retry resumes"
    assert "a retry sends only the rest" in str(failure.value)
    before = len(mi_emulator.state.requests)
    again = bulk(folder, manifest, max_failed_files=1)
    assert mi_emulator.state.requests[before:] == []
    refused = [entry for entry in again["entries"] if entry["state"] == "failed"]
    assert [
        (entry["file"].rsplit("/", 1)[-1], entry["uploadMessage"], entry["earlier"]) for entry in refused
    ] == [("face-0.png", "refused earlier: OVER_SIZE_LIMIT", True)]
    (folder / "face-0.png").write_bytes(image(320))
    assert bulk(folder, manifest)["completed"] == FILES
    assert per_file(mi_emulator, "storage")["0.png"] == 2, "sent again once changed"


def test_keys_too_old_to_use_are_uploaded_again(mi_emulator, folder, manifest):
    bulk(folder, manifest)
    recorded = json.loads(manifest.read_text())
    for entry in recorded["files"].values():
        entry["uploadedAt"] -= KEY_REUSE_SECONDS
    manifest.write_text(json.dumps(recorded))
    assert bulk(folder, manifest)["completed"] == FILES
    assert per_file(mi_emulator, "storage") == Counter({name: 2 for name in EVERY_FILE_ONCE})


def test_a_resumed_run_says_how_far_the_last_one_got(
    mi_emulator, folder, manifest, monkeypatch, caplog, capfd
):
    with monkeypatch.context() as patched, pytest.raises(Death):
        die_after(patched, "complete_person_thumbnail_upload", 3)
        bulk(folder, manifest, max_concurrency=1)
    caplog.set_level(logging.INFO)  # Airflow 2 logs through logging, Airflow 3 prints with structlog
    bulk(folder, manifest, max_concurrency=1)
    logged = "\n".join([*(record.getMessage() for record in caplog.records), *capfd.readouterr()])
    said = re.search(
        r"Resuming: (\d) of 6 files already done \((\d) completed, 0 refused for good\), (\d) to check with "
        r"the keys they were given, (\d) to upload",
        logged,
    )
    assert said, logged
    done, completed, check, upload = map(int, said.groups())
    assert done == completed >= 1, "the completions before the death were saved"
    assert done + check + upload == FILES


@pytest.mark.parametrize(
    ("arrange", "manifest_path", "message"),
    [
        (None, 42, "manifest_path is 42; give a local path"),
        (None, "", "manifest_path is ''"),
        (None, "{tmp}/missing/m.json", "manifest_path .* cannot be written: its folder does not exist"),
        (None, "{tmp}", "manifest_path .* is a folder"),
        ("{", "{tmp}/m.json", "is not JSON"),
        (
            '{"format": 2, "kind": "person-sync", "workspace": "bulk-workspace", "persons": {}}',
            "{tmp}/m.json",
            "is the manifest of a person sync, not of a bulk upload",
        ),
        (
            '{"format": 2, "kind": "bulk-upload", "workspace": "elsewhere", "files": {}}',
            "{tmp}/m.json",
            "is the manifest of workspace 'elsewhere', not 'bulk-workspace'",
        ),
    ],
)
def test_a_bad_manifest_path_is_refused_before_any_request(
    mi_emulator, folder, tmp_path, arrange, manifest_path, message
):
    if arrange is not None:
        (tmp_path / "m.json").write_text(arrange)
    path = manifest_path.format(tmp=tmp_path) if isinstance(manifest_path, str) else manifest_path
    operator = MediaIntelligenceBulkUploadPersonThumbnailsOperator(
        task_id="bulk", sources=str(folder), manifest_path=path, workspace_name=WORKSPACE
    )
    with pytest.raises(AirflowFailException, match=message):
        operator.execute(context={})
    assert mi_emulator.state.requests == []
