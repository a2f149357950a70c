"""Producers of assets, with the workspace link and OpenLineage, that the lineage tests run."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG, Asset

from airflow_provider_mi.operators.bulk_upload import MediaIntelligenceBulkUploadPersonThumbnailsOperator
from airflow_provider_mi.operators.person_sync import MediaIntelligenceSyncPersonsOperator
from airflow_provider_mi.operators.person_thumbnail import MediaIntelligenceUploadPersonThumbnailOperator

WORKSPACE = "e2e-lineage"
THUMBNAILS = Asset(f"ncp-mi://{WORKSPACE}/person-thumbnails")
PERSONS = Asset(f"ncp-mi://{WORKSPACE}/persons")

with DAG(dag_id="mi_e2e_lineage", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    MediaIntelligenceUploadPersonThumbnailOperator(
        task_id="upload",
        workspace_name=WORKSPACE,
        file_path="{{ dag_run.conf['photo'] }}",
        outlets=[THUMBNAILS],
    )
    MediaIntelligenceBulkUploadPersonThumbnailsOperator(
        task_id="bulk",
        workspace_name=WORKSPACE,
        sources="{{ dag_run.conf['folder'] }}",
        outlets=[THUMBNAILS],
    )
    MediaIntelligenceSyncPersonsOperator(
        task_id="sync",
        workspace_name=WORKSPACE,
        source="{{ dag_run.conf['faces'] }}",
        manifest_path="{{ dag_run.conf['manifest'] }}",
        poll_interval=0.2,
        outlets=[PERSONS],
    )
