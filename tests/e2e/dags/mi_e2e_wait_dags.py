"""
The upload operators with ``wait_for_completion``, in the task and deferred, for ``airflow dags test``.

The emulator makes uploads visible a few seconds after they land, so every task really waits.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_mi.operators.bulk_upload import MediaIntelligenceBulkUploadPersonThumbnailsOperator
from airflow_provider_mi.operators.person_thumbnail import MediaIntelligenceUploadPersonThumbnailOperator

WORKSPACE = "e2e-wait"
FAST = {"poll_interval": 0.3, "timeout": 60, "retries": 2, "retry_delay": timedelta(seconds=0)}

with DAG(dag_id="mi_e2e_wait", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    for deferrable, mode in ((False, "in_task"), (True, "deferred")):
        MediaIntelligenceUploadPersonThumbnailOperator(
            task_id=f"single_{mode}",
            workspace_name=WORKSPACE,
            file_path="{{ dag_run.conf['image'] }}",
            wait_for_completion=True,
            deferrable=deferrable,
            **FAST,
        )
        MediaIntelligenceBulkUploadPersonThumbnailsOperator(
            task_id=f"bulk_{mode}",
            workspace_name=WORKSPACE,
            sources="{{ dag_run.conf['folder'] }}",
            report_path=f"{{{{ dag_run.conf['reports'] }}}}/{mode}.json",
            max_failed_files=1,
            wait_for_completion=True,
            deferrable=deferrable,
            **FAST,
        )
    MediaIntelligenceBulkUploadPersonThumbnailsOperator(
        task_id="bulk_deferred_timeout",
        workspace_name=WORKSPACE,
        sources="{{ dag_run.conf['folder'] }}",
        max_failed_files=1,
        wait_for_completion=True,
        deferrable=True,
        **{**FAST, "timeout": 0.5},
    )
