"""Unit checks of the operators' arguments and outcome mapping (their runs are in tests/e2e)."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_mi.core.models import UploadCompletion
from airflow_provider_mi.exceptions import InvalidParameterError, PersonThumbnailNotReadyError
from airflow_provider_mi.operators.person_thumbnail import (
    MediaIntelligenceCompletePersonThumbnailUploadOperator,
    MediaIntelligenceUploadPersonThumbnailOperator,
    _outcome,
)


def test_templated_fields():
    assert set(MediaIntelligenceCompletePersonThumbnailUploadOperator.template_fields) == {
        "thumbnail_key",
        "workspace_name",
        "mi_conn_id",
    }
    assert set(MediaIntelligenceUploadPersonThumbnailOperator.template_fields) == {
        "file_path",
        "file_name",
        "storage_conn_id",
        "workspace_name",
        "mi_conn_id",
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "Pass exactly one of file_path"),
        ({"file_path": "a.png", "data": b"x", "file_name": "a.png"}, "Pass exactly one of file_path"),
        ({"data": b"x"}, "file_name is required with data"),
    ],
)
def test_upload_operator_rejects_bad_arguments(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        MediaIntelligenceUploadPersonThumbnailOperator(task_id="upload", **kwargs)


def test_no_hook_or_connection_is_made_at_parse_time():
    operator = MediaIntelligenceCompletePersonThumbnailUploadOperator(
        task_id="complete", thumbnail_key="k", mi_conn_id="missing"
    )
    assert "hook" not in operator.__dict__


def test_outcome_of_each_state():
    assert _outcome(UploadCompletion("k", "COMPLETED")) == {
        "uploadStatus": "COMPLETED",
        "uploadMessage": None,
    }
    with pytest.raises(PersonThumbnailNotReadyError, match="not complete yet") as waiting:
        _outcome(UploadCompletion("k", "FAILED", "FILE_NOT_EXIST"))
    assert waiting.value.retryable
    with pytest.raises(PersonThumbnailNotReadyError):
        _outcome(UploadCompletion("k", "PROCESSING"))
    for reason in ("OVER_SIZE_LIMIT", "RESOLUTION_NOT_SUPPORT", "SOMETHING_NEW"):
        with pytest.raises(AirflowFailException, match=f"failed for good: {reason}"):
            _outcome(UploadCompletion("k", "FAILED", reason))
