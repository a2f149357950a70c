"""The register-person operator through real Airflow: created, attached to a known face, refused."""

from __future__ import annotations

import pytest

from airflow_cli import run_dag
from helpers import face_photos, return_values, task_states, try_numbers
from test_operator_dags import DAGS, WORKSPACE

DAG_ID = "mi_e2e_register"


@pytest.fixture(scope="module")
def register_run(airflow_home, e2e_emulator, e2e_env, tmp_path_factory):
    """Two photos of one made-up person, one of another; run ``mi_e2e_register`` once."""
    photos = {"ada_0": (21, 0), "ada_1": (21, 1), "bob_0": (22, 0)}
    conf = face_photos(tmp_path_factory.mktemp("faces"), photos)
    result = run_dag(DAGS, DAG_ID, env=e2e_env, conf=conf)
    return result, task_states(airflow_home, DAG_ID), return_values(airflow_home, DAG_ID)


def test_a_new_face_is_registered(register_run):
    _, states, values = register_run
    assert states["register_new"] == "success"
    assert values["register_new"]["action"] == "created"


def test_a_known_face_is_attached_to_its_person(register_run, e2e_emulator):
    _, states, values = register_run
    assert states["register_known_face"] == "success"
    attached = values["register_known_face"]
    assert (attached["personId"], attached["action"], attached["matchedBy"]) == (
        values["register_new"]["personId"],
        "attached",
        "face",
    )
    assert [len(person.thumbnails) for person in e2e_emulator.state.persons(WORKSPACE)] == [2]


def test_a_taken_name_fails_without_retries_and_writes_nothing(register_run, airflow_home):
    result, states, _ = register_run
    assert states["register_taken_name"] == "failed"
    assert try_numbers(airflow_home, DAG_ID)["register_taken_name"] == 1, "retries=2, but a retry cannot help"
    assert "already holds person" in result.output and "on_match='fail'" in result.output
