"""The provider's errors as plain JSON and back: what a trigger's event carries to the task."""

from __future__ import annotations

import json

import pytest

from airflow_provider_mi.exceptions import (
    InvalidParameterError,
    MediaIntelligenceApiError,
    MediaIntelligenceAuthenticationError,
    MediaIntelligenceConnectionError,
    MediaIntelligenceError,
    MediaIntelligenceGaveUpError,
    MediaIntelligenceResponseError,
    MediaIntelligenceUploadError,
    error_from_payload,
)

ERRORS = [
    MediaIntelligenceError("something"),
    InvalidParameterError("workspace_name is empty."),
    MediaIntelligenceConnectionError("could not connect."),
    MediaIntelligenceApiError(503, "500", "Endpoint Error", retry_after=2.0, envelope="gateway"),
    MediaIntelligenceApiError(404, None, None, details="the body is no API envelope", hint="Check the host"),
    MediaIntelligenceAuthenticationError(401, "200", "Authentication Failed", hint="Check the key"),
    MediaIntelligenceResponseError("empty body", retryable=True),
    MediaIntelligenceUploadError("did not land"),
    MediaIntelligenceGaveUpError("Gave up after 10 checks"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda error: type(error).__name__)
def test_every_error_survives_plain_json(error):
    rebuilt = error_from_payload(json.loads(json.dumps(error.payload())))
    assert type(rebuilt) is type(error)
    assert str(rebuilt) == str(error)
    assert rebuilt.retryable is error.retryable
    assert rebuilt.payload() == error.payload()


def test_api_fields_are_kept():
    rebuilt = error_from_payload(ERRORS[3].payload())
    assert isinstance(rebuilt, MediaIntelligenceApiError)
    assert (rebuilt.status, rebuilt.code, rebuilt.message, rebuilt.retry_after, rebuilt.envelope) == (
        503,
        "500",
        "Endpoint Error",
        2.0,
        "gateway",
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "SomethingNew", "message": "a newer provider said so"},
        {"type": "MediaIntelligenceApiError", "message": "a newer provider said so"},  # no status
    ],
)
def test_an_unknown_or_damaged_payload_keeps_its_message(payload):
    rebuilt = error_from_payload(payload)
    assert type(rebuilt) is MediaIntelligenceError
    assert str(rebuilt) == "a newer provider said so"
