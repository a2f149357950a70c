"""The person sync's manifest: written and read back whole, refused when it is not one."""

from __future__ import annotations

import hashlib

import pytest

from airflow_provider_mi.core.local_files import sha256_of, write_json
from airflow_provider_mi.core.manifest import (
    KEY_REUSE_SECONDS,
    FileRecord,
    Manifest,
    PersonRecord,
    read_manifest,
)
from airflow_provider_mi.exceptions import InvalidParameterError


def sample() -> Manifest:
    record = FileRecord("ab" * 32, "ws/k1.jpg", 1000.0, completed=True, registered=True)
    refused = FileRecord("cd" * 32, "ws/k2.jpg", 1001.0, refused="OVER_SIZE_LIMIT")
    return Manifest("ws", {"Ada": PersonRecord("1001", {"Ada/1.jpg": record, "Ada/2.jpg": refused})})


def test_a_manifest_survives_its_json(tmp_path):
    path = tmp_path / "m.json"
    write_json(path, sample().to_dict())
    assert read_manifest(path.read_text(), str(path)) == sample()
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"], "no temporary file left behind"


def test_no_file_is_no_manifest():
    assert read_manifest(None, "/nowhere.json") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "is not JSON"),
        ("[]", "not a person-sync manifest"),
        ('{"format": 2, "workspace": "ws", "persons": {}}', "format 2, expected 1"),
        ('{"format": 1, "workspace": "ws", "persons": {"Ada": {"files": {}}}}', "KeyError"),
    ],
)
def test_a_file_that_is_no_manifest_is_refused_with_the_fix(text, message):
    with pytest.raises(InvalidParameterError, match=message) as refused:
        read_manifest(text, "/m.json")
    assert "move the file away to start afresh" in str(refused.value)


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
