"""The register-person operator through real Airflow when the API throttles it, and with an expired key."""

from __future__ import annotations

import re

import pytest

from airflow_cli import run_dag
from airflow_provider_mi.emulator import faults
from airflow_provider_mi.emulator.faces import face_image
from helpers import return_values, task_states, try_numbers
from test_operator_dags import DAGS, WORKSPACE

DAG_ID = "mi_e2e_register_faults"
#: The Retry-After each 429 sends: longer than any backoff of the first attempts (0.5 s, then 1 s).
RETRY_AFTER = 2
EXPIRED_KEY = "e2e/uploaded-25-hours-ago.jpg"


@pytest.fixture(scope="module")
def faults_run(airflow_home, e2e_emulator, e2e_env, tmp_path_factory):
    """
    Store a thumbnail and move the API's clock 25 hours on; script two 429s each for compare and
    create; then run ``mi_e2e_register_faults`` once.
    """
    state = e2e_emulator.state
    state.store_thumbnail(WORKSPACE, EXPIRED_KEY, face_image(31, 0))
    state.advance(25 * 3600)
    throttled = faults.http_error(429, str(RETRY_AFTER))
    state.inject("compare", throttled, throttled)
    state.inject("create-person", throttled, throttled)
    image = tmp_path_factory.mktemp("faces") / "fresh.jpg"
    image.write_bytes(face_image(32, 0))
    result = run_dag(DAGS, DAG_ID, env=e2e_env, conf={"image": str(image), "expired_key": EXPIRED_KEY})
    return result, task_states(airflow_home, DAG_ID), return_values(airflow_home, DAG_ID)


def test_429s_are_waited_out_and_the_person_is_created_once(faults_run, e2e_emulator):
    result, states, values = faults_run
    assert states["register_throttled"] == "success", result.output[-3000:]
    assert values["register_throttled"]["action"] == "created"
    [person] = [person for person in e2e_emulator.state.persons(WORKSPACE) if person.name == "Throttled"]
    assert str(person.person_id) == values["register_throttled"]["personId"]
    assert len(person.thumbnails) == 1, "the repeated key was sent once"
    creates = e2e_emulator.state.requests_to("create-person")
    assert [entry.status for entry in creates] == [429, 429, 200]
    assert [entry.status for entry in e2e_emulator.state.requests_to("compare")][:3] == [429, 429, 200]


def test_the_retries_waited_as_long_as_retry_after_said(faults_run):
    result, *_ = faults_run
    waits = re.findall(r"HTTP 429 \(code 420\): Rate Limited\. Retrying in ([\d.]+) s", result.output)
    # Four retries (two each for compare and create; Airflow 2.11 prints each task log line twice).
    assert len(waits) in (4, 8) and set(waits) == {f"{RETRY_AFTER:.2f}"}, waits


def test_an_expired_key_fails_at_the_first_try_saying_to_upload_again(faults_run, airflow_home, e2e_emulator):
    result, states, _ = faults_run
    assert states["register_expired_key"] == "failed"
    assert try_numbers(airflow_home, DAG_ID)["register_expired_key"] == 1, (
        "retries=2, but a retry cannot help"
    )
    assert (
        f"answered HTTP 400 (code 10001): Invalid Request. Thumbnail key '{EXPIRED_KEY}' has expired (24 "
        "hours after upload); upload it again." in result.output
    )
    assert not [person for person in e2e_emulator.state.persons(WORKSPACE) if person.name == "Expired"]
    assert len(e2e_emulator.state.requests_to("create-person")) == 3, "only the throttled task's"
