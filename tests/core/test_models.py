"""The upload state machine and the typed results."""

from __future__ import annotations

import pytest

from airflow_provider_mi.core.models import (
    DEFAULT_WAITING_REASONS,
    PresignedUpload,
    UploadCompletion,
    UploadOutcome,
    UploadStatus,
)

KEY = "persons/thumbnails/face.jpg"


@pytest.mark.parametrize(
    ("status", "reason", "expected"),
    [
        ("COMPLETED", None, UploadOutcome.COMPLETED),
        ("COMPLETED", "ignored", UploadOutcome.COMPLETED),
        ("FAILED", "FILE_NOT_EXIST", UploadOutcome.WAITING),
        ("FAILED", "OVER_SIZE_LIMIT", UploadOutcome.FAILED),
        ("FAILED", "RESOLUTION_NOT_SUPPORT", UploadOutcome.FAILED),
        ("FAILED", "SOMETHING_NEW", UploadOutcome.FAILED),
        ("FAILED", None, UploadOutcome.FAILED),
        ("PROCESSING", None, UploadOutcome.WAITING),
        ("completed", None, UploadOutcome.WAITING),  # not a known status: case matters
    ],
)
def test_state_with_default_waiting_reasons(status, reason, expected):
    assert UploadCompletion(KEY, status, reason).outcome() is expected


def test_default_waiting_reasons_are_only_file_not_exist():
    assert frozenset({"FILE_NOT_EXIST"}) == DEFAULT_WAITING_REASONS


def test_custom_waiting_reasons():
    over_size = UploadCompletion(KEY, "FAILED", "OVER_SIZE_LIMIT")
    missing = UploadCompletion(KEY, "FAILED", "FILE_NOT_EXIST")
    assert over_size.outcome({"OVER_SIZE_LIMIT"}) is UploadOutcome.WAITING
    assert missing.outcome({"OVER_SIZE_LIMIT"}) is UploadOutcome.FAILED
    # no waiting reasons at all: every failure is final
    assert missing.outcome(()) is UploadOutcome.FAILED
    assert UploadCompletion(KEY, "COMPLETED").outcome(()) is UploadOutcome.COMPLETED


def test_status_enum_or_none():
    assert UploadCompletion(KEY, "COMPLETED").status is UploadStatus.COMPLETED
    assert UploadCompletion(KEY, "FAILED", "X").status is UploadStatus.FAILED
    assert UploadCompletion(KEY, "QUEUED").status is None


@pytest.mark.parametrize(
    ("completion", "expected"),
    [
        (UploadCompletion(KEY, "COMPLETED"), {"uploadStatus": "COMPLETED", "uploadMessage": None}),
        (
            UploadCompletion(KEY, "FAILED", "OVER_SIZE_LIMIT"),
            {"uploadStatus": "FAILED", "uploadMessage": "OVER_SIZE_LIMIT"},
        ),
        (UploadCompletion(KEY, "QUEUED", "later"), {"uploadStatus": "QUEUED", "uploadMessage": "later"}),
    ],
)
def test_to_api_dict_is_the_api_result(completion, expected):
    assert completion.to_api_dict() == expected


def test_describe():
    assert UploadCompletion(KEY, "COMPLETED").describe() == f"thumbnail {KEY!r}: COMPLETED"
    assert UploadCompletion(KEY, "FAILED", "OVER_SIZE_LIMIT").describe() == (
        f"thumbnail {KEY!r}: FAILED (OVER_SIZE_LIMIT)"
    )


@pytest.mark.parametrize(
    ("completion", "cause"),
    [
        (UploadCompletion(KEY, "FAILED", "OVER_SIZE_LIMIT"), "OVER_SIZE_LIMIT"),
        (UploadCompletion(KEY, "REJECTED"), "REJECTED"),
    ],
)
def test_failure_message_names_key_cause_and_fix(completion, cause):
    message = completion.failure_message()
    assert repr(KEY) in message
    assert f"failed for good: {cause}." in message
    assert "fix the image (jpg, png or webp, at most 5 MB, at least 256 px)" in message


def test_upload_completion_is_immutable_and_comparable():
    completion = UploadCompletion(KEY, "COMPLETED")
    assert completion == UploadCompletion(KEY, "COMPLETED")
    with pytest.raises(AttributeError):
        completion.raw_status = "FAILED"  # type: ignore[misc]


def test_presigned_upload_repr_hides_the_url():
    url = "https://kr.object.ncloudstorage.com/bucket/face.jpg?X-Amz-Signature=deadbeefcafe"
    upload = PresignedUpload(KEY, url, 900)
    for text in (repr(upload), str(upload), f"{upload}", repr([upload])):
        assert "deadbeefcafe" not in text
        assert "ncloudstorage" not in text
        assert "url='***'" in text
        assert KEY in text
        assert "expiration_seconds=900" in text
    assert upload.url == url
