"""
Wait for an upload in reschedule mode: the worker slot is freed between two checks.

Use reschedule mode when no triggerer runs; with a triggerer, ``deferrable=True`` is cheaper
still. The sensor keeps waiting while the API reports ``FILE_NOT_EXIST`` (the upload is not visible
yet) and fails at once on a permanent failure such as ``RESOLUTION_NOT_SUPPORT``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_mi.operators.person_thumbnail import MediaIntelligenceUploadPersonThumbnailOperator
from airflow_provider_mi.sensors.person_thumbnail import MediaIntelligencePersonThumbnailUploadSensor

SAMPLE_IMAGE = Path(__file__).parent / "assets" / "person.png"

with DAG(
    dag_id="example_mi_sensor_reschedule",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "ncp-media-intelligence"],
) as dag:
    upload = MediaIntelligenceUploadPersonThumbnailOperator(
        task_id="upload_thumbnail",
        workspace_name="demo-workspace",
        file_path=str(SAMPLE_IMAGE),
        file_name="reschedule-demo.png",
    )

    # [START howto_sensor_mi_reschedule]
    wait = MediaIntelligencePersonThumbnailUploadSensor(
        task_id="wait_in_reschedule_mode",
        workspace_name="demo-workspace",
        thumbnail_key="{{ ti.xcom_pull(task_ids='upload_thumbnail')['thumbnailKey'] }}",
        mode="reschedule",
        poke_interval=2,
        timeout=300,
    )
    # [END howto_sensor_mi_reschedule]

    upload >> wait
