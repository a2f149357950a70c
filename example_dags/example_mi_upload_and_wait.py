"""
Upload a local person thumbnail, then wait for the API to confirm it, deferred in the triggerer.

The upload task checks the image locally, issues a presigned URL, PUTs the file and asks for
completion; the sensor then waits (in the triggerer, holding no worker slot) until the API reports
``COMPLETED``, failing at once if the upload can never succeed.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_mi.operators.person_thumbnail import MediaIntelligenceUploadPersonThumbnailOperator
from airflow_provider_mi.sensors.person_thumbnail import MediaIntelligencePersonThumbnailUploadSensor

SAMPLE_IMAGE = Path(__file__).parent / "assets" / "person.png"

with DAG(
    dag_id="example_mi_upload_and_wait",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"workspace": "demo-workspace", "image": str(SAMPLE_IMAGE)},
    tags=["example", "ncp-media-intelligence"],
) as dag:
    # [START howto_operator_mi_upload_person_thumbnail]
    upload = MediaIntelligenceUploadPersonThumbnailOperator(
        task_id="upload_thumbnail",
        workspace_name="{{ params.workspace }}",
        file_path="{{ params.image }}",
    )
    # [END howto_operator_mi_upload_person_thumbnail]

    # [START howto_sensor_mi_deferrable]
    wait = MediaIntelligencePersonThumbnailUploadSensor(
        task_id="wait_until_completed",
        workspace_name="{{ params.workspace }}",
        thumbnail_key="{{ ti.xcom_pull(task_ids='upload_thumbnail')['thumbnailKey'] }}",
        deferrable=True,
        poke_interval=1,
        timeout=120,
    )
    # [END howto_sensor_mi_deferrable]

    upload >> wait
