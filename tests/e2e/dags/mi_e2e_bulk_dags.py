"""The resumable bulk upload the end-to-end tests run (and kill halfway) with ``airflow dags test``."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_mi.operators.bulk_upload import MediaIntelligenceBulkUploadPersonThumbnailsOperator

with DAG(dag_id="mi_e2e_bulk_resume", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    MediaIntelligenceBulkUploadPersonThumbnailsOperator(
        task_id="bulk",
        workspace_name="e2e-bulk",
        sources="{{ dag_run.conf['folder'] }}",
        manifest_path="{{ dag_run.conf['manifest'] }}",
        report_path="{{ dag_run.conf['report'] }}",
        max_concurrency=4,
        progress_interval=1,
    )
