"""
The sensor's bounded error streak, its last check at the deadline and the fail policies
(``never_fail``, ``silent_fail``) in every mode, through real Airflow against the emulator.
"""

from __future__ import annotations

import pytest

from airflow_cli import run_dag
from airflow_provider_mi.emulator import Fault
from helpers import png, return_values, task_states
from test_operator_dags import COMPLETED, DAGS, WORKSPACE, key
from test_sensor_dags import AUTH_FAILED, MODES, PASS, statuses

DAG_ID = "mi_e2e_sensor_errors"


@pytest.fixture(scope="module")
def errors_run(airflow_home, e2e_emulator, e2e_env):
    """Run ``mi_e2e_sensor_errors`` once, each task's key prepared for the behaviour it tests."""
    state = e2e_emulator.state
    good = png(300, 300)
    for mode in MODES:
        state.store_thumbnail(WORKSPACE, key(f"{mode}_errors_between_answers"), good, hidden_checks=2)
        error_then_answer = [Fault(503), PASS] * 2 + [Fault(503)]
        state.inject("complete", *error_then_answer, thumbnail_key=key(f"{mode}_errors_between_answers"))
        state.store_thumbnail(WORKSPACE, key(f"{mode}_silent_fail"), good)
        state.inject("complete", AUTH_FAILED, thumbnail_key=key(f"{mode}_silent_fail"))
    for task_id in ("deferred_never_fail", "deferred_silent_fail", "deferred_error_kind"):
        state.store_thumbnail(WORKSPACE, key(task_id), good, hidden_checks=1)
        state.inject("complete", PASS, AUTH_FAILED, thumbnail_key=key(task_id))
    state.store_thumbnail(WORKSPACE, key("deferred_last_check_at_deadline"), good, hidden_checks=3)

    result = run_dag(DAGS, DAG_ID, env=e2e_env, timeout=300)
    return result, task_states(airflow_home, DAG_ID), return_values(airflow_home, DAG_ID)


@pytest.mark.parametrize("mode", MODES)
def test_an_unreachable_host_fails_after_max_consecutive_errors(errors_run, mode):
    result, states, _ = errors_run
    assert states[f"{mode}_unreachable"] == "failed"
    assert "Gave up after 3 checks in a row failed (max_consecutive_errors=3)" in result.output
    assert "could not connect" in result.output


@pytest.mark.parametrize("mode", MODES)
def test_an_answer_between_errors_keeps_the_streak_short(errors_run, e2e_emulator, mode):
    _, states, values = errors_run
    task_id = f"{mode}_errors_between_answers"
    assert states[task_id] == "success"
    assert values[task_id] == COMPLETED
    assert statuses(e2e_emulator, task_id) == [503, 200, 503, 200, 503, 200]


@pytest.mark.parametrize("mode", MODES)
def test_never_fail_skips_on_an_error(errors_run, mode):
    _, states, _ = errors_run
    assert states[f"{mode}_never_fail"] == "skipped"


@pytest.mark.parametrize("mode", MODES)
def test_silent_fail_waits_on_after_an_error(errors_run, e2e_emulator, mode):
    _, states, values = errors_run
    task_id = f"{mode}_silent_fail"
    assert states[task_id] == "success"
    assert values[task_id] == COMPLETED
    assert statuses(e2e_emulator, task_id) == [401, 200]


def test_never_fail_skips_on_an_error_found_by_the_trigger(errors_run, e2e_emulator):
    _, states, _ = errors_run
    assert states["deferred_never_fail"] == "skipped"
    assert statuses(e2e_emulator, "deferred_never_fail") == [200, 401]


def test_silent_fail_defers_again_after_an_error_found_by_the_trigger(errors_run, e2e_emulator):
    _, states, values = errors_run
    assert states["deferred_silent_fail"] == "success"
    assert values["deferred_silent_fail"] == COMPLETED
    assert statuses(e2e_emulator, "deferred_silent_fail") == [200, 401, 200]


def test_an_error_found_by_the_trigger_keeps_its_kind(errors_run):
    result, states, _ = errors_run
    assert states["deferred_error_kind"] == "failed"
    assert "MediaIntelligenceAuthenticationError" in result.output


def test_the_trigger_checks_once_more_at_the_deadline(errors_run, e2e_emulator):
    _, states, values = errors_run
    assert states["deferred_last_check_at_deadline"] == "success"
    assert values["deferred_last_check_at_deadline"] == COMPLETED
    assert len(statuses(e2e_emulator, "deferred_last_check_at_deadline")) == 4
