"""
The DAG of ``test_shared_rate_limit_deployment.py``: mapped bulk uploads and mapped deferred
sensors at once, through the connection the run's conf names.

The conf gives ``mi_conn_id`` (a connection that shares its rate limit through Redis, or one that
does not) and ``images``, the folder of the batches ``batch-0``, ``batch-1``... (the mapped
arguments are templates, rendered for each run).
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG
from mi_scheduler_keys import (
    BULK_CONCURRENCY,
    BULK_UPLOADS,
    RATE_LIMIT_DAG,
    RATE_LIMITED_POKE_INTERVAL,
    RATE_LIMITED_SENSORS,
    SENSOR_TIMEOUT,
    WORKSPACE,
    rate_limited_sensor_key,
)

from airflow_provider_mi.operators.bulk_upload import MediaIntelligenceBulkUploadPersonThumbnailsOperator
from airflow_provider_mi.sensors.person_thumbnail import MediaIntelligencePersonThumbnailUploadSensor

CONN_ID = "{{ dag_run.conf['mi_conn_id'] }}"

with DAG(dag_id=RATE_LIMIT_DAG, schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    MediaIntelligenceBulkUploadPersonThumbnailsOperator.partial(
        task_id="bulk",
        workspace_name=WORKSPACE,
        mi_conn_id=CONN_ID,
        max_concurrency=BULK_CONCURRENCY,
        wait_for_completion=True,
        deferrable=True,
        poll_interval=RATE_LIMITED_POKE_INTERVAL,
        timeout=SENSOR_TIMEOUT,
    ).expand(sources=[f"{{{{ dag_run.conf['images'] }}}}/batch-{index}" for index in range(BULK_UPLOADS)])

    MediaIntelligencePersonThumbnailUploadSensor.partial(
        task_id="wait",
        workspace_name=WORKSPACE,
        mi_conn_id=CONN_ID,
        deferrable=True,
        poke_interval=RATE_LIMITED_POKE_INTERVAL,
        timeout=SENSOR_TIMEOUT,
    ).expand(
        thumbnail_key=[
            rate_limited_sensor_key("{{ run_id }}", index) for index in range(RATE_LIMITED_SENSORS)
        ]
    )
