"""
Upload a whole folder of person thumbnails in one task, and wait until the API sees every one.

The bulk operator uploads every image of the folder concurrently within the connection's rate
limits and logs what became of each file. With ``wait_for_completion=True, deferrable=True`` it
then waits for the uploads the API does not see yet in the triggerer, with one trigger for all of
them, holding no worker slot, and returns the counts (``completed`` 40, ``waitingKeys`` empty).
Its manifest (beside the images here; give yours a path every worker sees) makes a retry, or a
run killed halfway and started again, resume: no image is uploaded twice, and the outcome of the
wait is kept in it. (The first task only stages copies of the sample image, standing in for your
own folder.)
"""

from __future__ import annotations

import shutil
import tempfile
from datetime import datetime
from pathlib import Path

from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_mi.operators.bulk_upload import MediaIntelligenceBulkUploadPersonThumbnailsOperator

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

    # [START howto_operator_mi_bulk_upload]
    MediaIntelligenceBulkUploadPersonThumbnailsOperator(
        task_id="upload_folder",
        workspace_name="{{ params.workspace }}",
        sources=stage_images("{{ params.images }}"),
        manifest_path="{{ ti.xcom_pull(task_ids='stage_images') }}/manifest.json",
        max_concurrency=8,
        progress_interval=1,
        wait_for_completion=True,
        deferrable=True,
        poll_interval=1,
        timeout=120,
    )
    # [END howto_operator_mi_bulk_upload]
