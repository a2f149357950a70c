"""Operators reading from object storage, run by tests/e2e/test_object_storage_dags.py."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_mi.operators.bulk_upload import MediaIntelligenceBulkUploadPersonThumbnailsOperator
from airflow_provider_mi.operators.person_sync import MediaIntelligenceSyncPersonsOperator
from airflow_provider_mi.operators.person_thumbnail import MediaIntelligenceUploadPersonThumbnailOperator

WORKSPACE = "e2e-storage"
S3 = {"workspace_name": WORKSPACE, "storage_conn_id": "ncp_object_storage"}
#: A refused source must fail at the first try, retries or not.
RETRIES = {"retries": 2, "retry_delay": timedelta(seconds=0)}


def dag(dag_id: str) -> DAG:
    return DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False)


with dag("mi_e2e_storage"):
    MediaIntelligenceBulkUploadPersonThumbnailsOperator(
        task_id="bulk_prefix", sources="s3://photos/people/Ada/", **S3
    )
    MediaIntelligenceBulkUploadPersonThumbnailsOperator(
        task_id="bulk_glob", sources="s3://photos/people/*/1.jpg", **S3
    )
    MediaIntelligenceUploadPersonThumbnailOperator(
        task_id="upload_one", file_path="s3://photos/people/Bob/0.jpg", **S3
    )
    MediaIntelligenceSyncPersonsOperator(
        task_id="sync",
        source="s3://photos/people",
        manifest_path="s3://manifests/people.json",
        poll_interval=0.2,
        **S3,
    )

with dag("mi_e2e_storage_refused"):
    MediaIntelligenceUploadPersonThumbnailOperator(
        task_id="missing_object", file_path="s3://photos/people/Zed.jpg", **S3, **RETRIES
    )
    MediaIntelligenceBulkUploadPersonThumbnailsOperator(
        task_id="unreadable_bucket",
        sources="s3://photos/people/",
        workspace_name=WORKSPACE,
        storage_conn_id="locked_object_storage",
        **RETRIES,
    )
    MediaIntelligenceBulkUploadPersonThumbnailsOperator(
        task_id="wrong_endpoint",
        sources="s3://photos/people/*.jpg",
        workspace_name=WORKSPACE,
        storage_conn_id="unreachable_object_storage",
        **RETRIES,
    )
    MediaIntelligenceSyncPersonsOperator(
        task_id="sync_missing_bucket",
        source="s3://no-such-bucket/people",
        manifest_path="s3://manifests/refused.json",
        **S3,
        **RETRIES,
    )
