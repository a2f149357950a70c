"""The resumable bulk upload the end-to-end tests run (and kill halfway) with ``airflow dags test``."""

from __future__ import annotations

from datetime import datetime, timedelta

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

#: Each task of ``mi_e2e_bulk_bad_manifest`` and the conf entry its ``manifest_path`` comes from.
BAD_MANIFESTS = {
    "manifest_of_a_sync": "sync",
    "manifest_of_another_workspace": "other",
    "manifest_not_json": "broken",
    "manifest_folder_missing": "nowhere",
    "manifest_is_a_folder": "folder",
}

with DAG(dag_id="mi_e2e_bulk_bad_manifest", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    for task_id, entry in BAD_MANIFESTS.items():
        MediaIntelligenceBulkUploadPersonThumbnailsOperator(
            task_id=task_id,
            workspace_name="e2e-bulk",
            sources="{{ dag_run.conf['image'] }}",
            manifest_path=f"{{{{ dag_run.conf['{entry}'] }}}}",
            retries=2,
            retry_delay=timedelta(seconds=0),
        )
