"""
The DAG ``tests/e2e/test_bad_input_dags.py`` runs: every task gets a bad value at run time (from a
template, the run's conf or its connection) and must fail before sending anything.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_mi.operators.person_thumbnail import (
    MediaIntelligenceCompletePersonThumbnailUploadOperator,
    MediaIntelligenceUploadPersonThumbnailOperator,
)
from airflow_provider_mi.operators.persons import MediaIntelligenceRegisterPersonOperator
from airflow_provider_mi.sensors.person_thumbnail import MediaIntelligencePersonThumbnailUploadSensor

WORKSPACE = "bad-input-workspace"
KEY = "persons/thumbnails/bad-input.png"
PARAMS = {
    "traversal": "../admin",
    "encoded": "%2e%2e",
    "empty": "",
    "crlf_key": "k.png\r\nX-Injected: 1",
    "traversal_file": "../../etc/passwd",
}
SENSOR = {"poke_interval": 0.2, "timeout": 30}
#: The operators have retries: a bad value must still fail them at the first try.
RETRIES = {"retries": 3, "retry_delay": timedelta(seconds=1)}


def complete(task_id: str, **kwargs) -> MediaIntelligenceCompletePersonThumbnailUploadOperator:
    return MediaIntelligenceCompletePersonThumbnailUploadOperator(
        task_id=task_id, **{"workspace_name": WORKSPACE, "thumbnail_key": KEY, **RETRIES, **kwargs}
    )


def upload(task_id: str, file_path: str, **kwargs) -> MediaIntelligenceUploadPersonThumbnailOperator:
    return MediaIntelligenceUploadPersonThumbnailOperator(
        task_id=task_id, workspace_name=WORKSPACE, file_path=file_path, **RETRIES, **kwargs
    )


def register(task_id: str, **kwargs) -> MediaIntelligenceRegisterPersonOperator:
    return MediaIntelligenceRegisterPersonOperator(
        task_id=task_id,
        **{"workspace_name": WORKSPACE, "thumbnail_keys": [KEY], "name": "Ada", **RETRIES, **kwargs},
    )


with DAG(dag_id="mi_bad_input", schedule=None, start_date=datetime(2026, 1, 1), catchup=False, params=PARAMS):
    complete("workspace_traversal", workspace_name="{{ params.traversal }}")
    complete("workspace_encoded", workspace_name="{{ params.encoded }}")
    complete("workspace_empty", workspace_name="{{ params.empty }}")
    complete("key_with_crlf", thumbnail_key="{{ params.crlf_key }}")
    complete("key_too_long", thumbnail_key="{{ 'k' * 1025 }}")
    complete("conn_bad_timeout", mi_conn_id="mi_bad_timeout")
    complete("conn_plain_http", mi_conn_id="mi_plain_http")
    complete("conn_no_secret", mi_conn_id="mi_no_secret")
    upload("file_missing", "{{ dag_run.conf['folder'] }}/missing.png")
    upload("file_is_a_directory", "{{ dag_run.conf['folder'] }}")
    upload("file_over_5_mb", "{{ dag_run.conf['big'] }}")
    upload("file_not_an_image", "{{ dag_run.conf['text'] }}")
    upload("file_name_traversal", "{{ dag_run.conf['image'] }}", file_name="{{ params.traversal_file }}")
    MediaIntelligencePersonThumbnailUploadSensor(
        task_id="sensor_key_with_crlf",
        workspace_name=WORKSPACE,
        thumbnail_key="{{ params.crlf_key }}",
        **SENSOR,
    )
    MediaIntelligencePersonThumbnailUploadSensor(
        task_id="deferrable_workspace_encoded",
        workspace_name="{{ params.encoded }}",
        thumbnail_key=KEY,
        deferrable=True,
        **SENSOR,
    )
    # The register-person operator's rules, each broken by a value known only at run time.
    register("register_name_blank", name="{{ ' ' }}")
    register("register_name_not_text", name=42)
    register("register_name_too_long", name="{{ 'n' * 51 }}")
    register("register_description_blank", description="{{ params.empty }}")
    register("register_description_too_long", description="{{ 'd' * 701 }}")
    register("register_no_thumbnails", thumbnail_keys=[])
    register("register_101_thumbnails", thumbnail_keys=[f"k{number}.png" for number in range(101)])
    register("register_keys_not_a_list", thumbnail_keys=KEY)
    register("register_key_not_text", thumbnail_keys=[KEY, 42])
    register("register_key_with_crlf", thumbnail_keys=["{{ params.crlf_key }}"])
    register("register_key_too_long", thumbnail_keys=["{{ 'k' * 1025 }}"])
    register("register_workspace_traversal", workspace_name="{{ params.traversal }}")
