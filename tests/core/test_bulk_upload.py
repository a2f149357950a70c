"""What a resumed bulk upload has to do, decided from its files and its manifest."""

from __future__ import annotations

from airflow_provider_mi.core.bulk_upload import plan_bulk
from airflow_provider_mi.core.manifest import BULK_UPLOAD, KEY_REUSE_SECONDS, FileRecord, Manifest

NOW = 10 * KEY_REUSE_SECONDS


def manifest(**files: FileRecord) -> Manifest:
    return Manifest("ws", kind=BULK_UPLOAD, files=files)


def test_each_file_goes_where_its_record_says():
    known = manifest(
        done=FileRecord("f", "k1", NOW - 60, completed=True, landed=True),
        refused=FileRecord("f", "k2", NOW - KEY_REUSE_SECONDS * 5, refused="OVER_SIZE_LIMIT", landed=True),
        landed=FileRecord("f", "k3", NOW - 60, landed=True),
        issued=FileRecord("f", "k4", NOW - 60),
        changed=FileRecord("old", "k5", NOW - 60, completed=True, landed=True),
        expired=FileRecord("f", "k6", NOW - KEY_REUSE_SECONDS, completed=True, landed=True),
        stale=FileRecord("f", "k7", NOW - KEY_REUSE_SECONDS, landed=True),
        unkeyed=FileRecord("f"),
    )
    files = [*known.files, "new"]
    asked = []

    def fingerprint(file: str) -> str:
        asked.append(file)
        return "f"

    plan = plan_bulk(known, files, NOW, fingerprint)
    assert list(plan.done) == ["done"]
    assert list(plan.refused) == ["refused"], "refused for good: never sent again, however old"
    assert list(plan.check) == ["landed", "issued"]
    assert plan.upload == ["changed", "expired", "stale", "unkeyed", "new"]
    assert plan.expired == 1
    assert "new" not in asked, "a file the manifest does not know is not read to plan"
