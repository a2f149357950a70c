"""What a person sync plans from the folder, the manifest and the workspace: new, done, reused, refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_mi.core.local_files import sha256_of
from airflow_provider_mi.core.manifest import KEY_REUSE_SECONDS, FileRecord, Manifest, PersonRecord
from airflow_provider_mi.core.person_sync import plan_sync, read_source
from airflow_provider_mi.exceptions import InvalidParameterError


def photos(root: Path, names: dict[str, int]) -> Path:
    for name, count in names.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for number in range(count):
            (root / name / f"{number}.jpg").write_bytes(f"{name}{number}".encode())
    return root


def test_a_folder_is_read_person_by_person_in_name_order(tmp_path):
    root = photos(tmp_path, {"Bob": 2, "Ada": 1, ".hidden": 1, "Empty": 0})
    (root / "Bob" / "notes.txt").write_text("not a photo")
    found = read_source(root)
    assert {name: [p.file_id for p in listed] for name, listed in found.items()} == {
        "Ada": ["Ada/0.jpg"],
        "Bob": ["Bob/0.jpg", "Bob/1.jpg"],
    }


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "give a folder of person folders"),
        ({"Ada": ["/nowhere/1.jpg"]}, "names files that are not there: /nowhere/1.jpg"),
        ({" ": []}, "is empty. .* Rename the person's folder"),
        ({"x" * 51: []}, "a person's name has at most 50.* Rename"),
    ],
)
def test_bad_sources_are_refused_naming_the_fix(source, message):
    with pytest.raises(InvalidParameterError, match=message):
        read_source(source)


def test_more_than_a_hundred_photos_for_one_person_is_refused(tmp_path):
    with pytest.raises(InvalidParameterError, match="has 101 photos; a person holds at most 100"):
        read_source(photos(tmp_path, {"Ada": 101}))


def test_the_plan_sorts_each_photo_by_what_the_manifest_knows(tmp_path):
    found = read_source(photos(tmp_path, {"Ada": 5}))
    ada = {photo.file_id: photo for photo in found["Ada"]}
    digest = {file_id: sha256_of(photo.path) for file_id, photo in ada.items()}
    now = 10 * KEY_REUSE_SECONDS
    manifest = Manifest(
        "ws",
        {
            "Ada": PersonRecord(
                "7",
                {
                    "Ada/0.jpg": FileRecord(digest["Ada/0.jpg"], "k0", now, True, registered=True),
                    "Ada/1.jpg": FileRecord("changed", "k1", now, True, registered=True),
                    "Ada/2.jpg": FileRecord(digest["Ada/2.jpg"], "k2", now - 60, completed=True),
                    "Ada/3.jpg": FileRecord(digest["Ada/3.jpg"], "k3", now - KEY_REUSE_SECONDS),
                    "Ada/4.jpg": FileRecord(digest["Ada/4.jpg"], "k4", now, refused="OVER_SIZE_LIMIT"),
                },
            )
        },
    )
    [plan], forgotten = plan_sync(manifest, found, {"7"}, now)
    assert forgotten == [] and plan.person_id == "7"
    assert [p.file_id for p in plan.done] == ["Ada/0.jpg"]
    assert [p.file_id for p in plan.upload] == ["Ada/1.jpg", "Ada/3.jpg"]  # changed; key too old
    assert [p.file_id for p in plan.reuse] == ["Ada/2.jpg"]
    assert {p.file_id: why for p, why in plan.refused.items()} == {"Ada/4.jpg": "OVER_SIZE_LIMIT"}


def test_a_person_gone_from_the_workspace_is_forgotten_and_its_photos_go_up_again(tmp_path):
    found = read_source(photos(tmp_path, {"Ada": 1}))
    digest = sha256_of(found["Ada"][0].path)
    manifest = Manifest(
        "ws", {"Ada": PersonRecord("7", {"Ada/0.jpg": FileRecord(digest, "k", 0.0, True, True)})}
    )
    [plan], forgotten = plan_sync(manifest, found, set(), 1.0)
    assert forgotten == [("Ada", "7")]
    assert (plan.person_id, [p.file_id for p in plan.upload]) == (None, ["Ada/0.jpg"])
    assert manifest.persons["Ada"] == PersonRecord(None, {"Ada/0.jpg": FileRecord(digest)})
