"""The operators through real Airflow (``airflow dags test``) against the emulator."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from airflow_cli import run_dag
from airflow_provider_mi.emulator import Fault
from helpers import png, return_values, task_states

DAGS = Path(__file__).parent / "dags"
WORKSPACE = "e2e-workspace"
COMPLETED = {"uploadStatus": "COMPLETED", "uploadMessage": None}


def key(task_id: str) -> str:
    return f"e2e/{task_id}.png"


def completion_calls(emulator) -> Counter[str]:
    return Counter(entry.thumbnail_key for entry in emulator.state.requests_to("complete"))


@pytest.fixture(scope="module")
def operator_run(airflow_home, e2e_emulator, e2e_env, tmp_path_factory):
    """Run ``mi_e2e_operator`` once, each task's key prepared for the behaviour it tests."""
    state = e2e_emulator.state
    good, small = png(300, 300), png(100, 100)
    for task_id in ("completed", "mapped-0", "mapped-1", "mapped-2", "transient_errors"):
        state.store_thumbnail(WORKSPACE, key(task_id), good)
    state.store_thumbnail("templated-workspace", key("templated"), good)
    state.store_thumbnail(WORKSPACE, key("over_size"), png(300, 300, pad_to=5 * 1024 * 1024 + 1))
    state.store_thumbnail(WORKSPACE, key("low_resolution"), small)
    state.store_thumbnail(WORKSPACE, key("late_upload"), good, hidden_checks=2)
    unknown = {
        "code": "0",
        "message": "success",
        "result": {"uploadStatus": "FAILED", "uploadMessage": "NO_FACE"},
    }
    state.inject("complete", Fault(200, json.dumps(unknown).encode()), thumbnail_key=key("unknown_reason"))
    state.inject("complete", Fault(503), Fault(503), thumbnail_key=key("transient_errors"))
    images = tmp_path_factory.mktemp("images")
    (images / "flow.png").write_bytes(good)
    (images / "small.png").write_bytes(small)
    conf = {"image": str(images / "flow.png"), "small_image": str(images / "small.png")}

    result = run_dag(DAGS, "mi_e2e_operator", env=e2e_env, conf=conf)
    return (
        result,
        task_states(airflow_home, "mi_e2e_operator"),
        return_values(airflow_home, "mi_e2e_operator"),
    )


def test_completed_returns_the_api_dict(operator_run, e2e_emulator):
    _, states, values = operator_run
    assert states["completed"] == "success"
    assert values["completed"] == COMPLETED
    assert completion_calls(e2e_emulator)[key("completed")] == 1


@pytest.mark.parametrize("task_id", ["over_size", "low_resolution", "unknown_reason"])
def test_permanent_failure_fails_without_retry(operator_run, e2e_emulator, task_id):
    result, states, _ = operator_run
    assert states[task_id] == "failed"
    assert completion_calls(e2e_emulator)[key(task_id)] == 1, "a permanent failure must not be retried"
    reason = {
        "over_size": "OVER_SIZE_LIMIT",
        "low_resolution": "RESOLUTION_NOT_SUPPORT",
        "unknown_reason": "NO_FACE",
    }
    assert f"Upload of thumbnail '{key(task_id)}' failed for good: {reason[task_id]}" in result.output


def test_file_not_exist_is_retried_by_the_task(operator_run, e2e_emulator):
    _, states, values = operator_run
    assert states["late_upload"] == "success"
    assert values["late_upload"] == COMPLETED
    assert completion_calls(e2e_emulator)[key("late_upload")] == 3


def test_transient_http_errors_are_retried_inside_the_hook(operator_run, e2e_emulator):
    _, states, _ = operator_run
    assert states["transient_errors"] == "success"
    statuses = [
        e.status
        for e in e2e_emulator.state.requests_to("complete")
        if e.thumbnail_key == key("transient_errors")
    ]
    assert statuses == [503, 503, 200]


def test_templated_fields_are_rendered(operator_run, e2e_emulator):
    _, states, values = operator_run
    assert states["templated"] == "success"
    assert values["templated"] == COMPLETED
    paths = {
        e.path for e in e2e_emulator.state.requests_to("complete") if e.thumbnail_key == key("templated")
    }
    assert paths == {"/api/v1/workspaces/templated-workspace/person-thumbnail/uploads/complete"}


def test_mapped_completion_runs_one_task_per_key(operator_run, e2e_emulator):
    _, states, values = operator_run
    for index in range(3):
        assert states[f"mapped[{index}]"] == "success"
        assert values[f"mapped[{index}]"] == COMPLETED
        assert completion_calls(e2e_emulator)[key(f"mapped-{index}")] == 1


def test_upload_flow_returns_key_and_status(operator_run, e2e_emulator):
    _, states, values = operator_run
    assert states["upload_flow"] == "success"
    flow = values["upload_flow"]
    assert flow["uploadStatus"] == "COMPLETED" and flow["uploadMessage"] is None
    assert flow["thumbnailKey"].endswith("-flow.png")
    calls = Counter(
        e.endpoint for e in e2e_emulator.state.requests if e.thumbnail_key in (flow["thumbnailKey"], None)
    )
    assert (calls["presigned-url"], calls["storage"], calls["complete"]) == (1, 1, 1)


def test_upload_refuses_bad_files_before_any_request(operator_run, e2e_emulator):
    result, states, _ = operator_run
    assert states["upload_too_small"] == "failed"
    assert states["upload_missing_file"] == "failed"
    assert "'small.png' would be refused (RESOLUTION_NOT_SUPPORT): the image is 100x100 px" in result.output
    assert "flow.png.missing' cannot be read: No such file or directory" in result.output
    assert len(e2e_emulator.state.requests_to("presigned-url")) == 1, "only upload_flow asked for a URL"


def test_the_run_fails_because_of_the_expected_failures_only(operator_run):
    result, states, _ = operator_run
    assert not result.succeeded
    assert {task for task, state in states.items() if state != "success"} == {
        "over_size",
        "low_resolution",
        "unknown_reason",
        "upload_too_small",
        "upload_missing_file",
    }
