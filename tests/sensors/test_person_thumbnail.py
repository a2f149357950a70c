"""Unit checks of the sensor's arguments and event handling (its runs in every mode are in tests/e2e)."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, AirflowSensorTimeout

from airflow_provider_mi.exceptions import InvalidParameterError, MediaIntelligenceError
from airflow_provider_mi.sensors.person_thumbnail import PersonThumbnailUploadSensor


def make_sensor(**kwargs) -> PersonThumbnailUploadSensor:
    return PersonThumbnailUploadSensor(task_id="wait", thumbnail_key="k", **kwargs)


def test_templated_fields():
    assert set(PersonThumbnailUploadSensor.template_fields) == {
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
