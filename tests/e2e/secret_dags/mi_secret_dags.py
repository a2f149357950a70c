"""
The DAG that ``tests/e2e/test_secrets_in_airflow_home.py`` runs before searching its Airflow home.

Every way the provider touches credentials: the whole upload flow (presigned URL, PUT, complete),
retries after transient faults (logged warnings), a deferrable sensor that really defers, a sensor
in poke mode, and authentication failures with a wrong secret, in the worker and in the trigger.
"""

from __future__ import annotations

from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_mi.operators.person_thumbnail import (
    MediaIntelligenceCompletePersonThumbnailUploadOperator,
    MediaIntelligenceUploadPersonThumbnailOperator,
)
from airflow_provider_mi.sensors.person_thumbnail import MediaIntelligencePersonThumbnailUploadSensor

WORKSPACE = "secrets-workspace"
UPLOADED_KEY = "{{ ti.xcom_pull(task_ids='upload')['thumbnailKey'] }}"
FAST = {"poke_interval": 0.2, "timeout": 60}

with DAG(dag_id="mi_secrets", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    upload = MediaIntelligenceUploadPersonThumbnailOperator(
        task_id="upload", workspace_name=WORKSPACE, file_path="{{ dag_run.conf['image'] }}"
    )
    wait_deferred = MediaIntelligencePersonThumbnailUploadSensor(
        task_id="wait_deferred", workspace_name=WORKSPACE, thumbnail_key=UPLOADED_KEY, deferrable=True, **FAST
    )
    wait_poke = MediaIntelligencePersonThumbnailUploadSensor(
        task_id="wait_poke", workspace_name=WORKSPACE, thumbnail_key=UPLOADED_KEY, **FAST
    )
    upload >> [wait_deferred, wait_poke]
    MediaIntelligenceCompletePersonThumbnailUploadOperator(
        task_id="after_faults", workspace_name=WORKSPACE, thumbnail_key="secrets/after-faults.png"
    )
    MediaIntelligenceCompletePersonThumbnailUploadOperator(
        task_id="wrong_secret",
        workspace_name=WORKSPACE,
        thumbnail_key="secrets/wrong-secret.png",
        mi_conn_id="mi_wrong_secret",
    )
    MediaIntelligencePersonThumbnailUploadSensor(
        task_id="wrong_secret_deferrable",
        workspace_name=WORKSPACE,
        thumbnail_key="secrets/wrong-secret.png",
        mi_conn_id="mi_wrong_secret",
        deferrable=True,
        **FAST,
    )
    MediaIntelligencePersonThumbnailUploadSensor(
        task_id="rejected_while_deferred",
        workspace_name=WORKSPACE,
        thumbnail_key="secrets/rejected-while-deferred.png",
        deferrable=True,
        **FAST,
    )
