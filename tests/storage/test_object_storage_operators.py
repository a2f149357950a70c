"""The operators reading images, and the sync its manifest, from object storage (moto, an AWS connection)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, ObjectStoragePath

from airflow_provider_mi.emulator.faces import face_image
from airflow_provider_mi.operators.bulk_upload import MediaIntelligenceBulkUploadPersonThumbnailsOperator
from airflow_provider_mi.operators.person_sync import MediaIntelligenceSyncPersonsOperator
from airflow_provider_mi.operators.person_thumbnail import MediaIntelligenceUploadPersonThumbnailOperator
from object_storage import S3Server, s3_server

WS = "storage-ws"


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        server.put(
            "photos",
            {
                **{f"people/Ada/{n}.jpg": face_image(51, n) for n in range(2)},
                **{f"people/Bob/{n}.jpg": face_image(52, n) for n in range(2)},
                "loose/x.jpg": face_image(53, 0),
            },
        )
        server.put("manifests", {})
        yield server


@pytest.fixture(autouse=True)
def connection(monkeypatch, s3):
    monkeypatch.setenv("AIRFLOW_CONN_NCP_OBJECT_STORAGE", s3.connection())


def test_one_image_is_read_from_a_url(mi_emulator):
    result = MediaIntelligenceUploadPersonThumbnailOperator(
        task_id="t",
        workspace_name=WS,
        file_path="s3://photos/people/Ada/0.jpg",
        storage_conn_id="ncp_object_storage",
    ).execute(context={})
    assert result["uploadStatus"] == "COMPLETED"
    assert mi_emulator.state.requests_to("presigned-url")[0].path.endswith("presigned-url")


def test_a_missing_object_fails_before_any_request(mi_emulator):
    operator = MediaIntelligenceUploadPersonThumbnailOperator(
        task_id="t",
        workspace_name=WS,
        file_path="s3://photos/people/Zed.jpg",
        storage_conn_id="ncp_object_storage",
    )
    with pytest.raises(
        AirflowFailException, match=r"file_path 's3://photos/people/Zed\.jpg' cannot be read: it does not"
    ):
        operator.execute(context={})
    assert mi_emulator.state.requests == []


def test_a_bulk_upload_takes_a_prefix_and_an_object_storage_path(mi_emulator):
    result = MediaIntelligenceBulkUploadPersonThumbnailsOperator(
        task_id="t",
        workspace_name=WS,
        sources=[
            "s3://photos/people/Ada/",
            ObjectStoragePath("s3://photos/loose/x.jpg", conn_id="ncp_object_storage"),
        ],
        storage_conn_id="ncp_object_storage",
    ).execute(context={})
    assert (result["files"], result["completed"]) == (3, 3)


def test_a_sync_from_object_storage_with_its_manifest_there_writes_nothing_the_second_time(mi_emulator):
    def sync() -> dict:
        return MediaIntelligenceSyncPersonsOperator(
            task_id="t",
            workspace_name=WS,
            source="s3://photos/people",
            manifest_path="s3://manifests/people.json",
            storage_conn_id="ncp_object_storage",
            poll_interval=0.05,
        ).execute(context={})

    assert sync()["created"] == 2
    before = len(mi_emulator.state.requests)
    assert sync()["unchanged"] == 2
    assert [entry.endpoint for entry in mi_emulator.state.requests[before:]] == ["list-persons"]
    assert {person.name: len(person.thumbnails) for person in mi_emulator.state.persons(WS)} == {
        "Ada": 2,
        "Bob": 2,
    }


def test_a_bulk_upload_from_object_storage_with_its_manifest_there_sends_nothing_the_second_time(
    mi_emulator, s3
):
    def bulk() -> dict:
        return MediaIntelligenceBulkUploadPersonThumbnailsOperator(
            task_id="t",
            workspace_name=WS,
            sources="s3://photos/people/Bob/",
            manifest_path="s3://manifests/bulk.json",
            storage_conn_id="ncp_object_storage",
        ).execute(context={})

    assert bulk()["completed"] == 2
    before = len(mi_emulator.state.requests)
    assert bulk()["completed"] == 2
    assert mi_emulator.state.requests[before:] == [], "each object is known by its ETag: nothing to send"
    manifest = json.loads(s3.client().get_object(Bucket="manifests", Key="bulk.json")["Body"].read())
    assert sorted(manifest["files"]) == ["s3://photos/people/Bob/0.jpg", "s3://photos/people/Bob/1.jpg"]
    assert all(entry["fingerprint"].startswith("etag:") for entry in manifest["files"].values())
