"""
DAGs the end-to-end tests run with ``airflow dags test`` against the emulator.

Each task waits on its own thumbnail key, ``e2e/<task_id>.png`` in workspace ``e2e-workspace``;
the test prepares what the emulator answers for each key, runs the DAG once and then checks every
task's state, its XCom and the exact API calls made for its key.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_mi.operators.bulk_upload import MediaIntelligenceBulkUploadPersonThumbnailsOperator
from airflow_provider_mi.operators.person_thumbnail import (
    MediaIntelligenceCompletePersonThumbnailUploadOperator,
    MediaIntelligenceUploadPersonThumbnailOperator,
)
from airflow_provider_mi.operators.persons import (
    MediaIntelligenceAddPersonThumbnailsOperator,
    MediaIntelligenceDeletePersonOperator,
    MediaIntelligenceMergePersonsOperator,
    MediaIntelligenceRemovePersonThumbnailsOperator,
)
from airflow_provider_mi.operators.persons import (
    MediaIntelligenceRegisterPersonOperator as RegisterPersonOperator,
)
from airflow_provider_mi.sensors.person_thumbnail import MediaIntelligencePersonThumbnailUploadSensor

WORKSPACE = "e2e-workspace"
FAST = {"poke_interval": 0.3, "timeout": 60}


def key(task_id: str) -> str:
    return f"e2e/{task_id}.png"


def dag(dag_id: str, **kwargs) -> DAG:
    return DAG(dag_id=dag_id, schedule=None, start_date=datetime(2026, 1, 1), catchup=False, **kwargs)


def sensor(task_id: str, **kwargs) -> MediaIntelligencePersonThumbnailUploadSensor:
    options = {**FAST, **kwargs}
    return MediaIntelligencePersonThumbnailUploadSensor(
        task_id=task_id, workspace_name=WORKSPACE, thumbnail_key=key(task_id), **options
    )


def complete(task_id: str, **kwargs) -> MediaIntelligenceCompletePersonThumbnailUploadOperator:
    return MediaIntelligenceCompletePersonThumbnailUploadOperator(
        task_id=task_id, workspace_name=WORKSPACE, thumbnail_key=key(task_id), **kwargs
    )


with dag("mi_e2e_operator"):
    complete("completed")
    complete("over_size", retries=2, retry_delay=timedelta(seconds=0))
    complete("low_resolution", retries=2, retry_delay=timedelta(seconds=0))
    complete("unknown_reason", retries=2, retry_delay=timedelta(seconds=0))
    complete("late_upload", retries=3, retry_delay=timedelta(seconds=0))
    complete("transient_errors")
    MediaIntelligenceCompletePersonThumbnailUploadOperator(
        task_id="templated",
        workspace_name="{{ params.workspace }}",
        thumbnail_key="{{ params.key_prefix }}/{{ task.task_id }}.png",
        params={"workspace": "templated-workspace", "key_prefix": "e2e"},
    )
    MediaIntelligenceCompletePersonThumbnailUploadOperator.partial(
        task_id="mapped", workspace_name=WORKSPACE
    ).expand(thumbnail_key=[key("mapped-0"), key("mapped-1"), key("mapped-2")])
    MediaIntelligenceUploadPersonThumbnailOperator(
        task_id="upload_flow",
        workspace_name=WORKSPACE,
        file_path="{{ dag_run.conf['image'] }}",
        file_name="flow.png",
    )
    MediaIntelligenceUploadPersonThumbnailOperator(
        task_id="upload_too_small", workspace_name=WORKSPACE, file_path="{{ dag_run.conf['small_image'] }}"
    )
    MediaIntelligenceUploadPersonThumbnailOperator(
        task_id="upload_missing_file",
        workspace_name=WORKSPACE,
        file_path="{{ dag_run.conf['image'] }}.missing",
    )

with dag("mi_e2e_sensor"):
    for mode in ("poke", "reschedule", "deferrable"):
        mode_args = {"deferrable": True} if mode == "deferrable" else {"mode": mode}
        sensor(f"{mode}_waits_then_completes", **mode_args)
        sensor(f"{mode}_permanent_failure", retries=2, **mode_args)
        sensor(f"{mode}_transient_errors", mi_conn_id="mi_no_retry", **mode_args)
        sensor(f"{mode}_unknown_status", **mode_args)
        sensor(f"{mode}_timeout", **{**mode_args, "timeout": 2})
    sensor("soft_fail_permanent", soft_fail=True)
    sensor("soft_fail_deferrable_permanent", soft_fail=True, deferrable=True)
    sensor("soft_fail_deferred_permanent", soft_fail=True, deferrable=True)
    sensor("soft_fail_timeout", soft_fail=True, timeout=2)
    sensor("soft_fail_deferred_timeout", soft_fail=True, deferrable=True, timeout=2)
    sensor("soft_fail_auth_error", soft_fail=True, mi_conn_id="mi_wrong_secret")
    sensor("deferred_auth_error", soft_fail=True, deferrable=True)

with dag("mi_e2e_sensor_errors"):
    for mode in ("poke", "reschedule", "deferrable"):
        mode_args = {"deferrable": True} if mode == "deferrable" else {"mode": mode}
        sensor(f"{mode}_unreachable", mi_conn_id="mi_unreachable", max_consecutive_errors=3, **mode_args)
        sensor(
            f"{mode}_errors_between_answers", mi_conn_id="mi_no_retry", max_consecutive_errors=2, **mode_args
        )
        sensor(f"{mode}_never_fail", never_fail=True, mi_conn_id="mi_wrong_secret", **mode_args)
        sensor(f"{mode}_silent_fail", silent_fail=True, **mode_args)
    sensor("deferred_never_fail", never_fail=True, deferrable=True)
    sensor("deferred_silent_fail", silent_fail=True, deferrable=True)
    sensor("deferred_error_kind", deferrable=True)
    sensor("deferred_last_check_at_deadline", deferrable=True, poke_interval=4, timeout=6)

with dag("mi_e2e_upload_evidence"):
    # One after the other: the storage faults each task meets are scripted in order.
    upload_args = {"workspace_name": WORKSPACE, "file_path": "{{ dag_run.conf['image'] }}"}
    (
        MediaIntelligenceUploadPersonThumbnailOperator(task_id="lost_then_refused", **upload_args)
        >> MediaIntelligenceUploadPersonThumbnailOperator(task_id="landed_then_refused", **upload_args)
        >> MediaIntelligenceUploadPersonThumbnailOperator(task_id="never_lands", **upload_args)
    )

with dag("mi_e2e_bulk_rejected"):
    MediaIntelligenceBulkUploadPersonThumbnailsOperator(
        task_id="credentials_rejected_mid_batch",
        workspace_name=WORKSPACE,
        sources="{{ dag_run.conf['folder'] }}",
        report_path="{{ dag_run.conf['report'] }}",
        max_concurrency=1,
        retries=2,
        retry_delay=timedelta(seconds=0),
    )

with dag("mi_e2e_register"):
    uploads = {
        name: MediaIntelligenceUploadPersonThumbnailOperator(
            task_id=f"upload_{name}", workspace_name=WORKSPACE, file_path=f"{{{{ dag_run.conf['{name}'] }}}}"
        )
        for name in ("ada_0", "ada_1", "bob_0")
    }

    def register(task_id: str, upload: str, name: str, **kwargs) -> RegisterPersonOperator:
        key = f"{{{{ ti.xcom_pull(task_ids='upload_{upload}')['thumbnailKey'] }}}}"
        return RegisterPersonOperator(
            task_id=task_id, workspace_name=WORKSPACE, thumbnail_keys=[key], name=name, **kwargs
        )

    created = register("register_new", "ada_0", "Ada")
    attached = register("register_known_face", "ada_1", "Ada again")
    refused = register(
        "register_taken_name", "bob_0", "Ada", on_match="fail", retries=2, retry_delay=timedelta(seconds=0)
    )
    list(uploads.values()) >> created >> attached >> refused

with dag("mi_e2e_person_changes"):
    # One chain, the person ids passed by XCom templates; merge_into_itself is refused on its own.
    def xcom(task_id: str, field: str) -> str:
        return f"{{{{ ti.xcom_pull(task_ids='{task_id}')['{field}'] }}}}"

    change_uploads = [
        MediaIntelligenceUploadPersonThumbnailOperator(
            task_id=f"upload_{name}", workspace_name=WORKSPACE, file_path=f"{{{{ dag_run.conf['{name}'] }}}}"
        )
        for name in ("ada_0", "ada_1", "ada_2", "bob_0")
    ]
    ada, bob = xcom("register_ada", "personId"), xcom("register_bob", "personId")
    register_ada = RegisterPersonOperator(
        task_id="register_ada",
        workspace_name=WORKSPACE,
        thumbnail_keys=[xcom("upload_ada_0", "thumbnailKey")],
        name="Ada",
    )
    register_bob = RegisterPersonOperator(
        task_id="register_bob",
        workspace_name=WORKSPACE,
        thumbnail_keys=[xcom("upload_bob_0", "thumbnailKey")],
        name="Bob",
    )
    add_thumbnails = MediaIntelligenceAddPersonThumbnailsOperator(
        task_id="add_thumbnails",
        workspace_name=WORKSPACE,
        person_id=ada,
        thumbnail_keys=[xcom("upload_ada_1", "thumbnailKey"), xcom("upload_ada_2", "thumbnailKey")],
    )
    remove_one = MediaIntelligenceRemovePersonThumbnailsOperator(
        task_id="remove_one",
        workspace_name=WORKSPACE,
        person_id=ada,
        thumbnail_ids=["{{ ti.xcom_pull(task_ids='add_thumbnails')['addedThumbnailIds'][0] }}"],
    )
    merge_dry_run = MediaIntelligenceMergePersonsOperator(
        task_id="merge_dry_run",
        workspace_name=WORKSPACE,
        person_id=ada,
        merged_person_ids=[bob],
        dry_run=True,
    )
    merge = MediaIntelligenceMergePersonsOperator(
        task_id="merge", workspace_name=WORKSPACE, person_id=ada, merged_person_ids=[bob]
    )
    merge_into_itself = MediaIntelligenceMergePersonsOperator(
        task_id="merge_into_itself",
        workspace_name=WORKSPACE,
        person_id=ada,
        merged_person_ids=[bob, ada],
        retries=2,
        retry_delay=timedelta(seconds=0),
    )
    delete = MediaIntelligenceDeletePersonOperator(task_id="delete", workspace_name=WORKSPACE, person_id=ada)
    delete_again = MediaIntelligenceDeletePersonOperator(
        task_id="delete_again", workspace_name=WORKSPACE, person_id=ada, missing_ok=True
    )
    change_uploads >> register_ada >> register_bob >> add_thumbnails >> remove_one >> merge_dry_run
    merge_dry_run >> merge >> delete >> delete_again
    register_bob >> merge_into_itself
# --- The register-person operator under 429s and with an expired key (tests/e2e/test_register_fault_dags.py).
with dag("mi_e2e_register_faults"):
    # One after the other: the 429s the test scripts for compare and create go to the first.
    fresh = MediaIntelligenceUploadPersonThumbnailOperator(
        task_id="upload_fresh", workspace_name=WORKSPACE, file_path="{{ dag_run.conf['image'] }}"
    )
    fresh_key = "{{ ti.xcom_pull(task_ids='upload_fresh')['thumbnailKey'] }}"
    (
        fresh
        >> RegisterPersonOperator(
            task_id="register_throttled",
            workspace_name=WORKSPACE,
            thumbnail_keys=[fresh_key, fresh_key],  # a repeated key counts once
            name="Throttled",
        )
        >> RegisterPersonOperator(
            task_id="register_expired_key",
            workspace_name=WORKSPACE,
            thumbnail_keys=["{{ dag_run.conf['expired_key'] }}"],
            name="Expired",
            retries=2,
            retry_delay=timedelta(seconds=0),
        )
    )
