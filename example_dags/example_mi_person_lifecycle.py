"""
A person's life cycle, one person operator after the other: register, add a photo, merge a
duplicate, remove a photo, delete.

Three photos of Hong Gildong are uploaded, each task waiting until the API completes its upload.
He is registered from the first (found first by face and by name, so a rerun registers nobody
twice) and given the second. A duplicate registered from the third under another name, as another
system might have done (``on_match="create"``), is merged into him after a dry run that writes
nothing. The second photo is then removed again and, last, the person is deleted, leaving the
workspace as it was.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_mi.operators.person_thumbnail import MediaIntelligenceUploadPersonThumbnailOperator
from airflow_provider_mi.operators.persons import (
    MediaIntelligenceAddPersonThumbnailsOperator,
    MediaIntelligenceDeletePersonOperator,
    MediaIntelligenceMergePersonsOperator,
    MediaIntelligenceRegisterPersonOperator,
    MediaIntelligenceRemovePersonThumbnailsOperator,
)

PHOTOS = Path(__file__).parent / "assets" / "faces" / "Hong Gildong"
WORKSPACE = "demo-workspace"
# [START howto_operator_mi_person_id]
#: The person registered first, by the id its task returned.
HONG = "{{ ti.xcom_pull(task_ids='register_person')['personId'] }}"
# [END howto_operator_mi_person_id]


def thumbnail_key(task_id: str) -> str:
    """The key an upload task returned, as a template."""
    return f"{{{{ ti.xcom_pull(task_ids='{task_id}')['thumbnailKey'] }}}}"


with DAG(
    dag_id="example_mi_person_lifecycle",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["example", "ncp-media-intelligence"],
) as dag:
    # [START howto_operator_mi_upload_and_wait]
    uploads = [
        MediaIntelligenceUploadPersonThumbnailOperator(
            task_id=f"upload_photo_{number}",
            workspace_name=WORKSPACE,
            file_path=str(PHOTOS / f"{number}.jpg"),
            wait_for_completion=True,  # in the task: the key is COMPLETED when the task ends
            poll_interval=1,
            timeout=120,
        )
        for number in (1, 2, 3)
    ]
    # [END howto_operator_mi_upload_and_wait]

    # [START howto_operator_mi_register_person]
    register = MediaIntelligenceRegisterPersonOperator(
        task_id="register_person",
        workspace_name=WORKSPACE,
        thumbnail_keys=[thumbnail_key("upload_photo_1")],
        name="Hong Gildong",
        on_match="attach",  # a person with this face or name gets the photo instead
        score_threshold=90,
    )
    # [END howto_operator_mi_register_person]

    # [START howto_operator_mi_add_person_thumbnails]
    add_photo = MediaIntelligenceAddPersonThumbnailsOperator(
        task_id="add_photo",
        workspace_name=WORKSPACE,
        person_id=HONG,
        thumbnail_keys=[thumbnail_key("upload_photo_2")],
        primary_thumbnail_key=None,  # keep his primary thumbnail
    )
    # [END howto_operator_mi_add_person_thumbnails]

    register_duplicate = MediaIntelligenceRegisterPersonOperator(
        task_id="register_duplicate",
        workspace_name=WORKSPACE,
        thumbnail_keys=[thumbnail_key("upload_photo_3")],
        name="Gildong Hong",
        on_match="create",  # registered although the face matches
    )

    # [START howto_operator_mi_merge_persons]
    duplicate = "{{ ti.xcom_pull(task_ids='register_duplicate')['personId'] }}"
    preview_merge = MediaIntelligenceMergePersonsOperator(
        task_id="preview_merge",
        workspace_name=WORKSPACE,
        person_id=HONG,
        merged_person_ids=[duplicate],
        dry_run=True,  # writes nothing, reports what would move
    )
    merge = MediaIntelligenceMergePersonsOperator(
        task_id="merge_duplicate", workspace_name=WORKSPACE, person_id=HONG, merged_person_ids=[duplicate]
    )
    # [END howto_operator_mi_merge_persons]

    # [START howto_operator_mi_remove_person_thumbnails]
    remove_photo = MediaIntelligenceRemovePersonThumbnailsOperator(
        task_id="remove_photo",
        workspace_name=WORKSPACE,
        person_id=HONG,
        thumbnail_ids=["{{ ti.xcom_pull(task_ids='add_photo')['addedThumbnailIds'][0] }}"],
    )
    # [END howto_operator_mi_remove_person_thumbnails]

    # [START howto_operator_mi_delete_person]
    delete = MediaIntelligenceDeletePersonOperator(
        task_id="delete_person",
        workspace_name=WORKSPACE,
        person_id=HONG,
        missing_ok=True,  # a person already gone is no failure
    )
    # [END howto_operator_mi_delete_person]

    uploads >> register >> add_photo >> register_duplicate >> preview_merge >> merge >> remove_photo >> delete
