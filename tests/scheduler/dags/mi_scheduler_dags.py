"""
DAGs run by a real scheduler, triggerer and dag-processor in ``tests/scheduler``.

All wait on thumbnails of workspace ``scheduler-workspace`` of the emulator, whose connection
``ncp_mi_default`` is given to every Airflow process in its environment. Names and timings are in
``mi_scheduler_keys.py``, shared with the tests.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG
from mi_scheduler_keys import (
    MAPPED_COUNT,
    MAPPED_DAG,
    MAPPED_POKE_INTERVAL,
    POKE_INTERVAL,
    RESCHEDULE_DAG,
    RESCHEDULE_KEY,
    RESCHEDULE_POKE_INTERVAL,
    SENSOR_TIMEOUT,
    UPLOAD_DAG,
    WORKSPACE,
    mapped_key,
)

from airflow_provider_mi.operators.person_thumbnail import MediaIntelligenceUploadPersonThumbnailOperator
from airflow_provider_mi.sensors.person_thumbnail import MediaIntelligencePersonThumbnailUploadSensor


def dag(dag_id: str, **kwargs) -> DAG:
    return DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, **kwargs)


with dag(UPLOAD_DAG):
    upload = MediaIntelligenceUploadPersonThumbnailOperator(
        task_id="upload",
        workspace_name=WORKSPACE,
        file_path="{{ dag_run.conf['image'] }}",
        file_name="restart.png",
    )
    wait = MediaIntelligencePersonThumbnailUploadSensor(
        task_id="wait",
        workspace_name=WORKSPACE,
        thumbnail_key="{{ ti.xcom_pull(task_ids='upload')['thumbnailKey'] }}",
        deferrable=True,
        poke_interval=POKE_INTERVAL,
        timeout=SENSOR_TIMEOUT,
    )
    upload >> wait

with dag(RESCHEDULE_DAG):
    MediaIntelligencePersonThumbnailUploadSensor(
        task_id="wait",
        workspace_name=WORKSPACE,
        thumbnail_key=RESCHEDULE_KEY,
        mode="reschedule",
        poke_interval=RESCHEDULE_POKE_INTERVAL,
        timeout=SENSOR_TIMEOUT,
    )

with dag(MAPPED_DAG):
    MediaIntelligencePersonThumbnailUploadSensor.partial(
        task_id="wait",
        workspace_name=WORKSPACE,
        deferrable=True,
        poke_interval=MAPPED_POKE_INTERVAL,
        timeout=SENSOR_TIMEOUT,
    ).expand(thumbnail_key=[mapped_key(index) for index in range(MAPPED_COUNT)])
