"""
The upload flow decides from evidence whether an image landed, over real HTTP to the emulator.

A ``PUT`` whose answer was lost may or may not have stored the bytes; the single-use URL then
refuses a second attempt. Completion, and the URL's age against its ``expirationSeconds``, tell
what happened: the flow never reports ``waiting`` for bytes that did not land.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from PIL import Image

from airflow_provider_mi.core.models import UploadLanding, UploadStatus
from airflow_provider_mi.emulator import Fault, MediaIntelligenceEmulator, faults
from airflow_provider_mi.exceptions import MediaIntelligenceUploadError
from airflow_provider_mi.hooks.media_intelligence import MAX_UPLOAD_URLS, MediaIntelligenceHook

WORKSPACE = "evidence-workspace"
#: The bytes never reach storage, and the answer is lost (cut short midway through its body).
LOST_BEFORE_LANDING = Fault(503, b"x" * 64, drop="body", name="lost")
#: The single-use URL refuses the next attempt.
REFUSED = Fault(403, b"AccessDenied: upload URL already used", name="refused")


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), (10, 120, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def emulator(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Iterator[MediaIntelligenceEmulator]:
    options = getattr(request, "param", {})
    with MediaIntelligenceEmulator(**options) as emulator:
        for name, value in emulator.airflow_env().items():
            monkeypatch.setenv(name, value)
        yield emulator


@pytest.fixture
def hook(emulator: MediaIntelligenceEmulator, waits: list[float]) -> Iterator[MediaIntelligenceHook]:
    hook = MediaIntelligenceHook()
    yield hook
    hook.close()


def calls(emulator: MediaIntelligenceEmulator) -> list[tuple[str, int, str | None]]:
    return [(entry.endpoint, entry.status, entry.fault) for entry in emulator.state.requests]


def test_a_refused_retry_after_a_lost_answer_is_checked_then_uploaded_again(hook, emulator):
    emulator.state.inject("storage", LOST_BEFORE_LANDING, REFUSED)

    completion = hook.upload_person_thumbnail(WORKSPACE, "face.png", png())

    assert completion.status is UploadStatus.COMPLETED, "not 'waiting' for a file that never landed"
    assert calls(emulator) == [
        ("presigned-url", 200, None),
        ("storage", 503, "lost"),
        ("storage", 403, "refused"),
        ("complete", 200, None),  # FILE_NOT_EXIST: the bytes are not there
        ("presigned-url", 200, None),
        ("storage", 200, None),
        ("complete", 200, None),
    ]
    assert completion.thumbnail_key == emulator.state.requests[4].thumbnail_key


def test_a_refused_retry_after_an_upload_that_landed_is_confirmed_by_completion(hook, emulator):
    emulator.state.inject("storage", faults.reset())  # stored, then the answer is lost

    completion = hook.upload_person_thumbnail(WORKSPACE, "face.png", png())

    assert completion.status is UploadStatus.COMPLETED
    assert calls(emulator) == [
        ("presigned-url", 200, None),
        ("storage", 200, "reset"),
        ("storage", 403, None),  # the single-use URL was used by the first attempt
        ("complete", 200, None),
    ]


def test_it_gives_up_saying_what_happened_when_no_upload_lands(hook, emulator):
    emulator.state.inject("storage", *[LOST_BEFORE_LANDING, REFUSED] * MAX_UPLOAD_URLS)

    with pytest.raises(MediaIntelligenceUploadError) as caught:
        hook.upload_person_thumbnail(WORKSPACE, "face.png", png())

    assert f"{MAX_UPLOAD_URLS} presigned URLs were issued and none is known to hold the file" in str(
        caught.value
    )
    endpoints = [endpoint for endpoint, _, _ in calls(emulator)]
    assert endpoints == ["presigned-url", "storage", "storage", "complete"] * MAX_UPLOAD_URLS


@pytest.mark.parametrize("emulator", [{"url_ttl": 1}], indirect=True)
def test_an_expired_url_is_not_used_and_a_new_one_is_issued(hook, emulator):
    # The first attempt is refused after 1.2 s: by the retry, the 1-second URL has expired.
    emulator.state.inject("storage", Fault(503, delay=1.2, name="slow-503"))

    completion = hook.upload_person_thumbnail(WORKSPACE, "face.png", png())

    assert completion.status is UploadStatus.COMPLETED
    assert calls(emulator) == [
        ("presigned-url", 200, None),
        ("storage", 503, "slow-503"),  # refused: nothing landed, and no second PUT with the old URL
        ("presigned-url", 200, None),
        ("storage", 200, None),
        ("complete", 200, None),
    ]


@pytest.mark.parametrize("emulator", [{"url_ttl": 1}], indirect=True)
def test_an_expired_url_after_a_lost_answer_is_left_to_completion(hook, emulator):
    emulator.state.inject("storage", Fault(None, delay=1.2, drop="headers", name="slow-reset"))

    presigned = hook.create_presigned_upload(WORKSPACE, "face.png")
    assert hook.put_thumbnail(presigned, png()) is UploadLanding.UNCERTAIN
    assert hook.complete_person_thumbnail_upload(WORKSPACE, presigned.thumbnail_key).status is (
        UploadStatus.COMPLETED
    ), "the lost attempt had landed"


def test_a_refused_first_attempt_fails_with_what_to_check(hook, emulator):
    emulator.state.inject("storage", REFUSED)

    with pytest.raises(
        MediaIntelligenceUploadError, match=r"refused the upload of .* \(HTTP 403, URL issued"
    ):
        hook.upload_person_thumbnail(WORKSPACE, "face.png", png())
    assert [endpoint for endpoint, _, _ in calls(emulator)] == ["presigned-url", "storage"]


def test_a_caller_sees_each_new_url_before_its_upload_and_may_issue_the_first(hook, emulator):
    """A resumable batch records each key before its bytes go: the flow tells it of every URL it issues."""
    first = hook.create_presigned_upload(WORKSPACE, "face.png")
    emulator.state.inject("storage", LOST_BEFORE_LANDING, REFUSED)  # the first URL never holds the image
    seen = []

    def on_presigned(presigned):
        seen.append((presigned.thumbnail_key, len(emulator.state.requests_to("storage"))))

    completion = hook.upload_person_thumbnail(
        WORKSPACE, "face.png", png(), presigned=first, on_presigned=on_presigned
    )

    assert completion.status is UploadStatus.COMPLETED
    second = emulator.state.requests_to("presigned-url")[1].thumbnail_key
    assert seen == [(second, 2)], "told of the second URL before anything was sent to it; not of the first"
    assert [entry.thumbnail_key for entry in emulator.state.requests_to("storage")] == [
        first.thumbnail_key,
        first.thumbnail_key,
        second,
    ]
    assert completion.thumbnail_key == second
