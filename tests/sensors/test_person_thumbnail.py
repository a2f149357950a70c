"""Unit checks of the sensor's arguments and event handling (its runs in every mode are in tests/e2e)."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    TaskDeferred,
)

from airflow_provider_mi.exceptions import (
    InvalidParameterError,
    MediaIntelligenceAuthenticationError,
    MediaIntelligenceError,
)
from airflow_provider_mi.sensors.person_thumbnail import MediaIntelligencePersonThumbnailUploadSensor


def make_sensor(**kwargs) -> MediaIntelligencePersonThumbnailUploadSensor:
    return MediaIntelligencePersonThumbnailUploadSensor(task_id="wait", thumbnail_key="k", **kwargs)


def test_templated_fields():
    assert set(MediaIntelligencePersonThumbnailUploadSensor.template_fields) == {
        "thumbnail_key",
        "workspace_name",
        "mi_conn_id",
    }


@pytest.mark.parametrize(
    ("reasons", "message"),
    [
        (["FILE_NOT_READY"], r"unknown reasons \['FILE_NOT_READY'\]"),
        ("FILE_NOT_EXIST", "must be a list of failure reasons"),
        ([1], "must be a list of failure reasons"),
    ],
)
def test_waiting_reasons_are_validated(reasons, message):
    with pytest.raises(InvalidParameterError, match=message):
        make_sensor(waiting_reasons=reasons)


def test_non_positive_poke_interval_is_refused():
    with pytest.raises(Exception, match="poke_interval"):
        make_sensor(poke_interval=-1)


def test_default_waiting_reason_is_file_not_exist():
    assert make_sensor().waiting_reasons == frozenset({"FILE_NOT_EXIST"})


def test_execute_complete_maps_each_event():
    sensor = make_sensor()
    result = {"uploadStatus": "COMPLETED", "uploadMessage": None}
    assert sensor.execute_complete({}, {"status": "success", "message": "ok", "result": result}) == result
    with pytest.raises(AirflowFailException, match="failed for good"):
        sensor.execute_complete({}, {"status": "failed", "message": "failed for good: X"})
    with pytest.raises(AirflowSensorTimeout, match="timed out"):
        sensor.execute_complete({}, {"status": "timeout", "message": "timed out"})
    with pytest.raises(MediaIntelligenceError, match="Authentication Failed") as error:
        sensor.execute_complete({}, {"status": "error", "message": "Authentication Failed"})
    assert not isinstance(error.value, AirflowFailException), "errors must not become skips under soft_fail"


AUTH_PAYLOAD = MediaIntelligenceAuthenticationError(
    401, "200", "Authentication Failed", hint="Check the key", envelope="gateway"
).payload()
ERROR_EVENT = {"status": "error", "message": "Authentication Failed", "error": AUTH_PAYLOAD, "end_time": 9e9}


def test_an_error_event_raises_what_poke_mode_raises():
    with pytest.raises(MediaIntelligenceAuthenticationError) as caught:
        make_sensor().execute_complete({}, ERROR_EVENT)
    assert (caught.value.status, caught.value.code, caught.value.hint) == (401, "200", "Check the key")


def test_never_fail_skips_on_an_error_event():
    with pytest.raises(AirflowSkipException, match="never_fail"):
        make_sensor(never_fail=True).execute_complete({}, ERROR_EVENT)


def test_never_fail_skips_on_a_failed_event():
    with pytest.raises(AirflowSkipException, match="never_fail"):
        make_sensor(never_fail=True).execute_complete({}, {"status": "failed", "message": "failed for good"})


def test_silent_fail_waits_on_after_an_error_event():
    sensor = make_sensor(silent_fail=True, deferrable=True, poke_interval=5, max_consecutive_errors=4)
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute_complete({}, ERROR_EVENT)
    _, kwargs = deferred.value.trigger.serialize()
    assert (kwargs["end_time"], kwargs["poke_interval"], kwargs["max_consecutive_errors"]) == (9e9, 5, 4)


def test_silent_fail_does_not_hide_a_permanent_failure():
    with pytest.raises(AirflowFailException):
        make_sensor(silent_fail=True).execute_complete({}, {"status": "failed", "message": "failed for good"})


def test_the_trigger_gets_backoff_and_the_error_bound():
    sensor = make_sensor(
        deferrable=True, exponential_backoff=True, max_wait=120, max_consecutive_errors=None, timeout=50
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor._defer(end_time=1e10, consecutive_errors=2)
    _, kwargs = deferred.value.trigger.serialize()
    assert kwargs["exponential_backoff"] is True
    assert kwargs["max_wait"] == 120.0
    assert kwargs["max_consecutive_errors"] is None
    assert kwargs["consecutive_errors"] == 2


@pytest.mark.parametrize("value", [0, "ten", 1.5])
def test_max_consecutive_errors_is_validated(value):
    with pytest.raises(InvalidParameterError, match="max_consecutive_errors"):
        make_sensor(max_consecutive_errors=value)
