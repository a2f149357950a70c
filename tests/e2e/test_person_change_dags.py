"""
The person-changing operators through real Airflow, in one chain passing person ids by XCom:
register two persons, add thumbnails, remove one, merge (a dry run first), delete, delete again.
"""

from __future__ import annotations

import pytest

from airflow_cli import run_dag
from helpers import face_photos, return_values, task_states, try_numbers
from test_operator_dags import DAGS, WORKSPACE

DAG_ID = "mi_e2e_person_changes"
CHAIN = (
    "register_ada",
    "register_bob",
    "add_thumbnails",
    "remove_one",
    "merge_dry_run",
    "merge",
    "delete",
    "delete_again",
)


@pytest.fixture(scope="module")
def changes_run(airflow_home, e2e_emulator, e2e_env, tmp_path_factory):
    """Three photos of one made-up person, one of another; run ``mi_e2e_person_changes`` once."""
    photos = {"ada_0": (31, 0), "ada_1": (31, 1), "ada_2": (31, 2), "bob_0": (32, 0)}
    conf = face_photos(tmp_path_factory.mktemp("faces"), photos)
    result = run_dag(DAGS, DAG_ID, env=e2e_env, conf=conf)
    return result, task_states(airflow_home, DAG_ID), return_values(airflow_home, DAG_ID)


def test_every_task_of_the_chain_succeeds(changes_run):
    _, states, _ = changes_run
    assert {task_id: states[task_id] for task_id in CHAIN} == dict.fromkeys(CHAIN, "success")


def test_thumbnails_are_added_then_one_removed(changes_run):
    _, _, values = changes_run
    ada = values["register_ada"]["personId"]
    added = values["add_thumbnails"]
    assert (added["personId"], added["action"], len(added["added"]), added["thumbnailCount"]) == (
        ada,
        "attached",
        2,
        3,
    )
    assert values["remove_one"] == {
        "personId": ada,
        "removed": added["addedThumbnailIds"][:1],
        "remaining": 2,
    }


def test_the_dry_run_reports_and_the_merge_moves(changes_run):
    _, _, values = changes_run
    ada, bob = values["register_ada"]["personId"], values["register_bob"]["personId"]
    dry, merged = values["merge_dry_run"], values["merge"]
    assert (dry["dryRun"], dry["merged"], dry["thumbnailsToMove"], dry["thumbnailCount"]) == (
        True,
        False,
        1,
        3,
    )
    assert dry["mergedPersons"] == [{"personId": bob, "name": "Bob", "thumbnailCount": 1}]
    assert (merged["personId"], merged["merged"], merged["transferredThumbnailCount"]) == (ada, True, 1)


def test_the_person_is_deleted_and_a_second_delete_succeeds_doing_nothing(changes_run, e2e_emulator):
    _, _, values = changes_run
    ada = values["register_ada"]["personId"]
    assert values["delete"] == {"personId": ada, "deleted": True, "name": "Ada"}
    assert values["delete_again"] == {"personId": ada, "deleted": False, "name": None}
    assert e2e_emulator.state.persons(WORKSPACE) == []


def test_only_the_real_changes_were_written(changes_run, e2e_emulator):
    """The dry run, the refused merge and the second delete sent no write request."""
    endpoints = [entry.endpoint for entry in e2e_emulator.state.write_requests()]
    assert endpoints == [
        "create-person",
        "create-person",
        "add-thumbnails",
        "remove-thumbnails",
        "merge-persons",
        "delete-person",
    ]


def test_merging_a_person_into_itself_fails_without_retries(changes_run, airflow_home):
    result, states, _ = changes_run
    assert states["merge_into_itself"] == "failed"
    assert try_numbers(airflow_home, DAG_ID)["merge_into_itself"] == 1, "retries=2, but a retry cannot help"
    assert "holds the target person" in result.output
