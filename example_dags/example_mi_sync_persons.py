"""
Faces folder -> persons: keep a workspace's persons in line with a folder of photos.

The folder holds one sub-folder per person, named after the person (``faces/Kim Jiho/1.jpg``).
The sync uploads the new photos, registers each new person (found first by name and by face, so
none is registered twice) or adds the new photos to the person, and remembers in a manifest which
file became which thumbnail of which person: run it again and nothing is sent but one listing.
Point ``manifest_path`` at a place every worker sees. The sample set's "people" are drawn for the
emulator's stand-in for face matching, which matches them to each other and not to the others.

The task produces the asset ``ncp-mi://demo-workspace/persons``: its event's extra holds the counts
and ``changed`` (person name -> id of those created or given photos), which
``example_mi_new_persons`` (scheduled on the asset) reads.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.providers.common.compat.sdk import DAG, Asset

from airflow_provider_mi.operators.person_sync import MediaIntelligenceSyncPersonsOperator

SAMPLE_FACES = Path(__file__).parent / "assets" / "faces"
#: The workspace's persons, as an asset (a Dataset on Airflow 2).
PERSONS = Asset("ncp-mi://demo-workspace/persons")

with DAG(
    dag_id="example_mi_sync_persons",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    params={
        "workspace": "demo-workspace",
        "faces": str(SAMPLE_FACES),
        "manifest_path": "/tmp/mi-example-faces-manifest.json",
        "report_path": "/tmp/mi-example-faces-report.json",
    },
    tags=["example", "ncp-media-intelligence"],
) as dag:
    # [START howto_operator_mi_sync_persons]
    MediaIntelligenceSyncPersonsOperator(
        task_id="sync_faces",
        workspace_name="{{ params.workspace }}",
        source="{{ params.faces }}",
        manifest_path="{{ params.manifest_path }}",
        report_path="{{ params.report_path }}",
        progress_interval=1,
        outlets=[PERSONS],
    )
    # [END howto_operator_mi_sync_persons]
