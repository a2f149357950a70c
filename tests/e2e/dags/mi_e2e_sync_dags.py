"""The person sync the end-to-end tests run (and stop halfway) with ``airflow dags test``."""

from __future__ import annotations

from datetime import datetime, timedelta

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

#: Each task of ``mi_e2e_sync_bad_input`` and what it takes from the run's conf instead of a good value.
BAD_INPUT = {
    "photo_outside_a_person": {"source": "loose"},
    "name_too_long": {"source": "long_name"},
    "manifest_missing": {"on_missing_manifest": "fail"},
    "manifest_of_another_workspace": {"manifest": "other"},
    "manifest_not_json": {"manifest": "broken"},
    "manifest_folder_missing": {"manifest": "nowhere"},
}

with DAG(dag_id="mi_e2e_sync_bad_input", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    for task_id, given in BAD_INPUT.items():
        MediaIntelligenceSyncPersonsOperator(
            task_id=task_id,
            workspace_name="e2e-sync",
            source=f"{{{{ dag_run.conf['{given.get('source', 'good')}'] }}}}",
            manifest_path=f"{{{{ dag_run.conf['{given.get('manifest', 'fresh')}'] }}}}",
            on_missing_manifest=given.get("on_missing_manifest", "start"),
            retries=2,
            retry_delay=timedelta(seconds=0),
        )
