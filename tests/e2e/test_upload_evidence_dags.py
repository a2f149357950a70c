"""The upload operator never reports a file that did not land, through real Airflow against the emulator."""

from __future__ import annotations

import pytest

from airflow_cli import run_dag
from airflow_provider_mi.emulator import Fault, faults
from helpers import png, return_values, task_states
from test_operator_dags import DAGS

DAG_ID = "mi_e2e_upload_evidence"
#: The bytes never reach storage and the answer is lost; then the single-use URL refuses the retry.
LOST = Fault(503, b"x" * 64, drop="body", name="lost")
REFUSED = Fault(403, b"AccessDenied", name="refused")
PASS = Fault(None)


@pytest.fixture(scope="module")
def evidence_run(airflow_home, e2e_emulator, e2e_env, tmp_path_factory):
    """Run ``mi_e2e_upload_evidence``: its three tasks meet these storage answers, in order."""
    e2e_emulator.state.inject(
        "storage",
        *(LOST, REFUSED, PASS),  # lost_then_refused: completion sees nothing, a new URL lands
        *(faults.reset(), PASS),  # landed_then_refused: stored, answer lost, the retry refused (403)
        *(LOST, REFUSED) * 3,  # never_lands: three URLs, none holds the file
    )
    image = tmp_path_factory.mktemp("images") / "face.png"
    image.write_bytes(png(300, 300))
    result = run_dag(DAGS, DAG_ID, env=e2e_env, conf={"image": str(image)})
    return result, task_states(airflow_home, DAG_ID), return_values(airflow_home, DAG_ID)


def storage_and_complete(emulator) -> list[tuple[str, int]]:
    return [
        (entry.endpoint, entry.status)
        for entry in emulator.state.requests
        if entry.endpoint in {"presigned-url", "storage", "complete"}
    ]


def test_a_file_that_did_not_land_is_uploaded_again_and_completes(evidence_run):
    _, states, values = evidence_run
    assert states["lost_then_refused"] == "success"
    assert values["lost_then_refused"]["uploadStatus"] == "COMPLETED", "never 'waiting' for a lost file"


def test_a_file_that_landed_is_confirmed_without_a_second_upload(evidence_run):
    _, states, values = evidence_run
    assert states["landed_then_refused"] == "success"
    assert values["landed_then_refused"]["uploadStatus"] == "COMPLETED"


def test_the_task_fails_saying_what_happened_when_nothing_lands(evidence_run, e2e_emulator):
    result, states, _ = evidence_run
    assert states["never_lands"] == "failed"
    assert "3 presigned URLs were issued and none is known to hold the file" in result.output
    calls = storage_and_complete(e2e_emulator)
    assert calls == [
        *[("presigned-url", 200), ("storage", 503), ("storage", 403), ("complete", 200)],
        *[("presigned-url", 200), ("storage", 200), ("complete", 200)],
        *[("presigned-url", 200), ("storage", 200), ("storage", 403), ("complete", 200)],
        *[("presigned-url", 200), ("storage", 503), ("storage", 403), ("complete", 200)] * 3,
    ]
