"""
Upload a whole folder of person thumbnails in one task, then wait for the late ones.

The bulk operator uploads every image of the folder concurrently within the connection's rate
limits, logs what became of each file and returns the counts and the keys the API does not see
yet (``waitingKeys``); a mapped, deferrable sensor then waits for exactly those keys in the
triggerer.
(The first task only stages copies of the sample image, standing in for your own folder.)
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_mi.operators.bulk_upload import MediaIntelligenceBulkUploadPersonThumbnailsOperator
from airflow_provider_mi.sensors.person_thumbnail import MediaIntelligencePersonThumbnailUploadSensor

SAMPLE_IMAGE = Path(__file__).parent / "assets" / "person.png"

with DAG(
    dag_id="example_mi_bulk_upload",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={"workspace": "demo-workspace", "images": 40},
    tags=["example", "ncp-media-intelligence"],
) as dag:

    @task
    def stage_images(count: int) -> str:
        """Copy the sample image ``count`` times into a fresh folder (your folder, in real life)."""
        folder = Path(tempfile.mkdtemp(prefix="mi-example-faces-"))
        for number in range(int(count)):
            shutil.copyfile(SAMPLE_IMAGE, folder / f"face-{number:04d}.png")
        return str(folder)

    upload = MediaIntelligenceBulkUploadPersonThumbnailsOperator(
        task_id="upload_folder",
        workspace_name="{{ params.workspace }}",
        sources=stage_images("{{ params.images }}"),
        max_concurrency=8,
        progress_interval=1,
    )

    @task
    def waiting_keys(summary: dict[str, Any]) -> list[str]:
        """Take the keys the API did not see yet when the upload finished."""
        return summary["waitingKeys"]

    MediaIntelligencePersonThumbnailUploadSensor.partial(
        task_id="wait_for_late_uploads",
        workspace_name="{{ params.workspace }}",
        deferrable=True,
        poke_interval=1,
        timeout=120,
    ).expand(thumbnail_key=waiting_keys(upload.output))
