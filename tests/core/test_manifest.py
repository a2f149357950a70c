"""The manifest: written and read back whole, refused when it is not this task's, saved as it changes."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest

from airflow_provider_mi.core.local_files import sha256_of, write_json
from airflow_provider_mi.core.manifest import (
    BULK_UPLOAD,
    KEY_REUSE_SECONDS,
    PERSON_SYNC,
    FileRecord,
    Manifest,
    ManifestWriter,
    PersonRecord,
    read_manifest,
)
from airflow_provider_mi.exceptions import InvalidParameterError


def sample() -> Manifest:
    record = FileRecord("ab" * 32, "ws/k1.jpg", 1000.0, completed=True, registered=True, landed=True)
    refused = FileRecord("cd" * 32, "ws/k2.jpg", 1001.0, refused="OVER_SIZE_LIMIT", landed=True)
    return Manifest("ws", {"Ada": PersonRecord("1001", {"Ada/1.jpg": record, "Ada/2.jpg": refused})})


def bulk_sample() -> Manifest:
    issued = FileRecord("ef" * 32, "ws/k3.png", 1002.0)  # saved before its upload: not known to have landed
    done = FileRecord("ab" * 32, "ws/k4.png", 1003.0, completed=True, landed=True)
    return Manifest("ws", kind=BULK_UPLOAD, files={"/data/a.png": issued, "s3://b/c.png": done})


@pytest.mark.parametrize(("manifest", "kind"), [(sample(), PERSON_SYNC), (bulk_sample(), BULK_UPLOAD)])
def test_a_manifest_survives_its_json(tmp_path, manifest, kind):
    path = tmp_path / "m.json"
    write_json(path, manifest.to_dict())
    assert read_manifest(path.read_text(), str(path), kind, "ws") == manifest
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"], "no temporary file left behind"


def test_each_kind_keeps_only_its_own_section():
    assert set(sample().to_dict()) == {"format", "kind", "workspace", "persons"}
    assert set(bulk_sample().to_dict()) == {"format", "kind", "workspace", "files"}


def test_no_file_is_no_manifest():
    assert read_manifest(None, "/nowhere.json", BULK_UPLOAD, "ws") is None


@pytest.mark.parametrize(
    ("text", "kind", "message"),
    [
        ("{", PERSON_SYNC, "is not JSON"),
        ("[]", PERSON_SYNC, "not a person-sync manifest"),
        ('{"format": 1, "workspace": "ws", "persons": {}}', PERSON_SYNC, "format 1, expected 2"),
        ('{"format": 2, "workspace": "ws", "persons": {}}', PERSON_SYNC, "KeyError: 'kind'"),
        ('{"format": 2, "kind": "x", "workspace": "ws", "files": {}}', BULK_UPLOAD, "kind 'x', expected"),
        (
            '{"format": 2, "kind": "person-sync", "workspace": "ws", "persons": {"Ada": {"files": {}}}}',
            PERSON_SYNC,
            "KeyError",
        ),
        (
            '{"format": 2, "kind": "bulk-upload", "workspace": "ws", "files": {"a": {}}}',
            BULK_UPLOAD,
            "KeyError",
        ),
    ],
)
def test_a_file_that_is_no_manifest_is_refused_with_the_fix(text, kind, message):
    with pytest.raises(InvalidParameterError, match=message) as refused:
        read_manifest(text, "/m.json", kind, "ws")
    assert "move the file away to start afresh" in str(refused.value)


def test_a_manifest_of_another_kind_or_workspace_is_refused():
    with pytest.raises(InvalidParameterError, match="is the manifest of a person sync, not of a bulk upload"):
        read_manifest(json.dumps(sample().to_dict()), "/m.json", BULK_UPLOAD, "ws")
    text = json.dumps(bulk_sample().to_dict())
    with pytest.raises(InvalidParameterError, match="is the manifest of a bulk upload, not of a person sync"):
        read_manifest(text, "/m.json", PERSON_SYNC, "ws")
    with pytest.raises(InvalidParameterError, match="is the manifest of workspace 'ws', not 'other'"):
        read_manifest(text, "/m.json", BULK_UPLOAD, "other")


def test_a_key_is_reused_only_while_young_and_never_once_refused():
    young = FileRecord("00", "k", uploaded_at=0.0)
    assert young.reusable_key(KEY_REUSE_SECONDS - 1) == "k"
    assert young.reusable_key(KEY_REUSE_SECONDS) is None
    assert FileRecord("00", "k", 0.0, refused="OVER_SIZE_LIMIT").reusable_key(1.0) is None
    assert FileRecord("00").reusable_key(1.0) is None


def test_sha256_of_reads_the_whole_file_in_chunks(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * (3 << 20) + b"end")
    assert sha256_of(path) == hashlib.sha256(path.read_bytes()).hexdigest()


class Disk:
    """Where a writer's saves go: each payload written, in order."""

    def __init__(self) -> None:
        self.saves: list[dict] = []

    def write(self, payload: dict) -> None:
        self.saves.append(payload)


def files_of(payload: dict) -> list[str]:
    return sorted(payload["files"])


def test_the_writer_saves_at_most_once_per_interval_unless_forced():
    disk = Disk()
    writer = ManifestWriter(Manifest("ws", kind=BULK_UPLOAD), disk.write, interval=3600)
    writer.save()
    assert disk.saves == [], "nothing changed: nothing to write"
    with writer.change() as first:
        writer.manifest.files["a"] = FileRecord("00")
    writer.save()  # the first save of a run is not held back
    with writer.change():
        writer.manifest.files["b"] = FileRecord("01")
    writer.save()  # within the interval: held back
    assert [files_of(payload) for payload in disk.saves] == [["a"]]
    assert writer.saved == first
    writer.save(force=True)
    assert [files_of(payload) for payload in disk.saves] == [["a"], ["a", "b"]]


def test_durable_saves_a_change_not_on_disk_yet_and_only_then():
    disk = Disk()
    writer = ManifestWriter(Manifest("ws", kind=BULK_UPLOAD), disk.write, interval=3600)
    with writer.change() as number:
        writer.manifest.files["a"] = FileRecord("00")
    writer.durable(number)
    writer.durable(number)
    assert [files_of(payload) for payload in disk.saves] == [["a"]]
    assert writer.saved == number


def test_threads_changing_at_once_lose_no_change():
    disk = Disk()
    writer = ManifestWriter(Manifest("ws", kind=BULK_UPLOAD), disk.write, interval=0)

    def add(prefix: str) -> None:
        for number in range(200):
            with writer.change() as change:
                writer.manifest.files[f"{prefix}{number}"] = FileRecord("00")
            writer.durable(change)

    threads = [threading.Thread(target=add, args=(prefix,)) for prefix in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(disk.saves[-1]["files"]) == 800
    sizes = [len(payload["files"]) for payload in disk.saves]
    assert sizes == sorted(sizes), "each save holds at least what the one before did"
