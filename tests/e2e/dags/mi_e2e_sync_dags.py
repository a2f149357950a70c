"""The person sync the end-to-end tests run (and stop halfway) with ``airflow dags test``."""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_mi.operators.person_sync import MediaIntelligenceSyncPersonsOperator

with DAG(dag_id="mi_e2e_sync", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    MediaIntelligenceSyncPersonsOperator(
        task_id="sync",
        workspace_name="e2e-sync",
        source="{{ dag_run.conf['faces'] }}",
        manifest_path="{{ dag_run.conf['manifest'] }}",
        report_path="{{ dag_run.conf['report'] }}",
        max_concurrency=4,
        poll_interval=0.2,
    )
