"""
Complete many uploads at once with dynamic task mapping: one mapped task instance per key.

A first task uploads a few images (here the same sample under several names) and returns their
thumbnail keys; ``MediaIntelligenceCompletePersonThumbnailUploadOperator`` is then expanded over the
keys. With ``retries`` set, a key the API does not see yet (``FILE_NOT_EXIST``) is simply tried again later,
while a permanent failure fails its task instance at once. For thousands of files, prefer one
bulk task over a task per file.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook
from airflow_provider_mi.operators.person_thumbnail import (
    MediaIntelligenceCompletePersonThumbnailUploadOperator,
)

SAMPLE_IMAGE = Path(__file__).parent / "assets" / "person.png"
WORKSPACE = "demo-workspace"

with DAG(
    dag_id="example_mi_complete_mapped",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"copies": 3},
    tags=["example", "ncp-media-intelligence"],
) as dag:
    # [START howto_hook_mi_presigned_upload]
    @task
    def put_thumbnails(copies: int) -> list[str]:
        """Issue a presigned URL per file and PUT it, without completing; return the keys."""
        hook = MediaIntelligenceHook()
        data = SAMPLE_IMAGE.read_bytes()
        keys = []
        for number in range(int(copies)):
            presigned = hook.create_presigned_upload(WORKSPACE, f"person-{number}.png")
            hook.put_thumbnail(presigned, data)
            keys.append(presigned.thumbnail_key)
        return keys

    # [END howto_hook_mi_presigned_upload]

    # [START howto_operator_mi_complete_mapped]
    MediaIntelligenceCompletePersonThumbnailUploadOperator.partial(
        task_id="complete_upload",
        workspace_name=WORKSPACE,
        retries=5,
        retry_delay=timedelta(seconds=1),
    ).expand(thumbnail_key=put_thumbnails("{{ params.copies }}"))
    # [END howto_operator_mi_complete_mapped]
