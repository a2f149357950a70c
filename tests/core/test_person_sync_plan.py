"""What a person sync plans from the folder, the manifest and the workspace: new, done, reused, refused."""

from __future__ import annotations

import pytest

from airflow_provider_mi.core.manifest import KEY_REUSE_SECONDS, FileRecord, Manifest, PersonRecord
from airflow_provider_mi.core.person_sync import Photo, check_persons, is_photo, plan_sync
from airflow_provider_mi.exceptions import InvalidParameterError


def photos(names: dict[str, int]) -> dict[str, list[Photo]]:
    return {
        name: [Photo(f"{name}/{n}.jpg", f"/faces/{name}/{n}.jpg") for n in range(count)]
        for name, count in names.items()
    }


def digest(photo: Photo) -> str:
    return f"sha-of-{photo.file_id}"


def test_persons_come_in_name_order_and_those_without_photos_are_left_out():
    assert list(check_persons(photos({"Bob": 2, "Ada": 1, "Empty": 0}))) == ["Ada", "Bob"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        (" ", "is empty. .* Rename the person's folder"),
        ("x" * 51, "a person's name has at most 50.* Rename"),
    ],
)
def test_bad_names_are_refused_naming_the_fix(name, message):
    with pytest.raises(InvalidParameterError, match=message):
        check_persons(photos({name: 1}))


def test_more_than_a_hundred_photos_for_one_person_is_refused():
    with pytest.raises(InvalidParameterError, match="has 101 photos; a person holds at most 100"):
        check_persons(photos({"Ada": 101}))


def test_photos_are_images_that_are_not_hidden():
    assert [is_photo(name) for name in ("a.JPG", "b.webp", "c.txt", ".d.jpg", "e.jpeg.bak")] == [
        True,
        True,
        False,
        False,
        False,
    ]


def test_the_plan_sorts_each_photo_by_what_the_manifest_knows():
    found = photos({"Ada": 5})
    fingerprints = {photo.file_id: digest(photo) for photo in found["Ada"]}
    now = 10 * KEY_REUSE_SECONDS
    manifest = Manifest(
        "ws",
        {
            "Ada": PersonRecord(
                "7",
                {
                    "Ada/0.jpg": FileRecord(fingerprints["Ada/0.jpg"], "k0", now, True, registered=True),
                    "Ada/1.jpg": FileRecord("changed", "k1", now, True, registered=True),
                    "Ada/2.jpg": FileRecord(fingerprints["Ada/2.jpg"], "k2", now - 60, completed=True),
                    "Ada/3.jpg": FileRecord(fingerprints["Ada/3.jpg"], "k3", now - KEY_REUSE_SECONDS),
                    "Ada/4.jpg": FileRecord(fingerprints["Ada/4.jpg"], "k4", now, refused="OVER_SIZE_LIMIT"),
                },
            )
        },
    )
    [plan], forgotten = plan_sync(manifest, found, {"7"}, now, digest)
    assert forgotten == [] and plan.person_id == "7"
    assert [p.file_id for p in plan.done] == ["Ada/0.jpg"]
    assert [p.file_id for p in plan.upload] == ["Ada/1.jpg", "Ada/3.jpg"]  # changed; key too old
    assert [p.file_id for p in plan.reuse] == ["Ada/2.jpg"]
    assert {p.file_id: why for p, why in plan.refused.items()} == {"Ada/4.jpg": "OVER_SIZE_LIMIT"}


def test_a_listed_fingerprint_is_used_without_computing_one():
    listed = {"Ada": [Photo("Ada/0.jpg", "s3://b/Ada/0.jpg", fingerprint="etag:1")]}
    [plan], _ = plan_sync(Manifest("ws"), listed, set(), 1.0, lambda photo: pytest.fail("not to be read"))
    assert plan.fingerprints == {listed["Ada"][0]: "etag:1"}


def test_a_person_gone_from_the_workspace_is_forgotten_and_its_photos_go_up_again():
    found = photos({"Ada": 1})
    sha = digest(found["Ada"][0])
    manifest = Manifest(
        "ws", {"Ada": PersonRecord("7", {"Ada/0.jpg": FileRecord(sha, "k", 0.0, True, True)})}
    )
    [plan], forgotten = plan_sync(manifest, found, set(), 1.0, digest)
    assert forgotten == [("Ada", "7")]
    assert (plan.person_id, [p.file_id for p in plan.upload]) == (None, ["Ada/0.jpg"])
    assert manifest.persons["Ada"] == PersonRecord(None, {"Ada/0.jpg": FileRecord(sha)})
