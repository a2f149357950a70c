"""The sensor, in poke, reschedule and deferrable mode, through real Airflow against the emulator."""

from __future__ import annotations

import json

import pytest

from airflow_cli import run_dag
from airflow_provider_mi.emulator import Fault
from helpers import png, return_values, task_states
from test_operator_dags import COMPLETED, DAGS, WORKSPACE, key

MODES = ("poke", "reschedule", "deferrable")
PASS = Fault(None)
AUTH_FAILED = Fault(
    401, json.dumps({"error": {"errorCode": "200", "message": "Authentication Failed"}}).encode()
)


def success_envelope(result: dict[str, str]) -> Fault:
    return Fault(200, json.dumps({"code": "0", "message": "success", "result": result}).encode())


def statuses(emulator, task_id: str) -> list[int]:
    return [e.status for e in emulator.state.requests_to("complete") if e.thumbnail_key == key(task_id)]


@pytest.fixture(scope="module")
def sensor_run(airflow_home, e2e_emulator, e2e_env):
    """Run ``mi_e2e_sensor`` once, each task's key prepared for the behaviour it tests."""
    state = e2e_emulator.state
    good, small = png(300, 300), png(100, 100)
    for mode in MODES:
        state.store_thumbnail(WORKSPACE, key(f"{mode}_waits_then_completes"), good, hidden_checks=2)
        state.store_thumbnail(WORKSPACE, key(f"{mode}_permanent_failure"), small, hidden_checks=1)
        state.store_thumbnail(WORKSPACE, key(f"{mode}_transient_errors"), good)
        state.inject("complete", Fault(503), Fault(502), thumbnail_key=key(f"{mode}_transient_errors"))
        state.store_thumbnail(WORKSPACE, key(f"{mode}_unknown_status"), good)
        unknown = success_envelope({"uploadStatus": "PROCESSING"})
        state.inject("complete", unknown, thumbnail_key=key(f"{mode}_unknown_status"))
    state.store_thumbnail(WORKSPACE, key("soft_fail_permanent"), small)
    state.store_thumbnail(WORKSPACE, key("soft_fail_deferrable_permanent"), small)
    state.store_thumbnail(WORKSPACE, key("soft_fail_deferred_permanent"), small, hidden_checks=1)
    state.inject("complete", PASS, AUTH_FAILED, thumbnail_key=key("deferred_auth_error"))

    result = run_dag(DAGS, "mi_e2e_sensor", env=e2e_env, timeout=300)
    return result, task_states(airflow_home, "mi_e2e_sensor"), return_values(airflow_home, "mi_e2e_sensor")


@pytest.mark.parametrize("mode", MODES)
def test_waits_through_file_not_exist_then_completes(sensor_run, e2e_emulator, mode):
    _, states, values = sensor_run
    task_id = f"{mode}_waits_then_completes"
    assert states[task_id] == "success"
    assert values[task_id] == COMPLETED
    assert statuses(e2e_emulator, task_id) == [200, 200, 200], "two FILE_NOT_EXIST checks, then COMPLETED"


@pytest.mark.parametrize("mode", MODES)
def test_permanent_failure_fails_at_once_without_retries(sensor_run, e2e_emulator, mode):
    result, states, _ = sensor_run
    task_id = f"{mode}_permanent_failure"
    assert states[task_id] == "failed"
    assert len(statuses(e2e_emulator, task_id)) == 2, (
        "one FILE_NOT_EXIST, one RESOLUTION_NOT_SUPPORT, no retry"
    )
    assert f"Upload of thumbnail '{key(task_id)}' failed for good: RESOLUTION_NOT_SUPPORT" in result.output


@pytest.mark.parametrize("mode", MODES)
def test_transient_errors_while_polling_keep_it_waiting(sensor_run, e2e_emulator, mode):
    _, states, values = sensor_run
    task_id = f"{mode}_transient_errors"
    assert states[task_id] == "success"
    assert values[task_id] == COMPLETED
    assert statuses(e2e_emulator, task_id) == [503, 502, 200]


@pytest.mark.parametrize("mode", MODES)
def test_unknown_status_keeps_it_waiting(sensor_run, e2e_emulator, mode):
    result, states, _ = sensor_run
    task_id = f"{mode}_unknown_status"
    assert states[task_id] == "success"
    assert len(statuses(e2e_emulator, task_id)) == 2
    assert f"Unknown upload status thumbnail '{key(task_id)}': PROCESSING" in result.output


@pytest.mark.parametrize("mode", MODES)
def test_timeout_fails_the_task(sensor_run, e2e_emulator, mode):
    result, states, _ = sensor_run
    task_id = f"{mode}_timeout"
    assert states[task_id] == "failed"
    assert len(statuses(e2e_emulator, task_id)) >= 2, "it kept checking until the timeout"
    if mode != "deferrable":
        assert (
            f"Waited for thumbnail '{key(task_id)}' in workspace {WORKSPACE}; last status: " in result.output
        )


@pytest.mark.parametrize(
    "task_id",
    [
        "soft_fail_permanent",
        "soft_fail_deferrable_permanent",  # found by the check before deferring
        "soft_fail_deferred_permanent",  # found by the trigger
        "soft_fail_timeout",
        "soft_fail_deferred_timeout",
    ],
)
def test_soft_fail_skips_on_timeout_or_permanent_failure(sensor_run, task_id):
    _, states, _ = sensor_run
    assert states[task_id] == "skipped"


@pytest.mark.parametrize("task_id", ["soft_fail_auth_error", "deferred_auth_error"])
def test_soft_fail_still_fails_on_errors(sensor_run, e2e_emulator, task_id):
    result, states, _ = sensor_run
    assert states[task_id] == "failed"
    assert statuses(e2e_emulator, task_id)[-1] == 401
    assert len(statuses(e2e_emulator, task_id)) == (2 if task_id == "deferred_auth_error" else 1), (
        "no retry on 401"
    )
    assert "Authentication Failed" in result.output
