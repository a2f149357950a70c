"""
The fault catalogue, as data: each kind of failure, and what the provider does about it.

Every kind runs on both paths, the synchronous hook (operators, sensors in poke mode) and the
asynchronous hook (the trigger), against the emulator over real sockets on 127.0.0.1; the trigger
then shows what a deferred sensor makes of it. Waits between attempts are recorded, not slept.
The README's troubleshooting table says the same in prose.
"""

from __future__ import annotations

import asyncio
import io
import json
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from PIL import Image

from airflow_provider_mi.core.models import UploadCompletion, UploadStatus
from airflow_provider_mi.core.polling import DEFAULT_MAX_CONSECUTIVE_ERRORS
from airflow_provider_mi.emulator import Fault, MediaIntelligenceEmulator, faults
from airflow_provider_mi.exceptions import (
    MediaIntelligenceApiError,
    MediaIntelligenceAuthenticationError,
    MediaIntelligenceConnectionError,
    MediaIntelligenceError,
    MediaIntelligenceResponseError,
    MediaIntelligenceUploadError,
)
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceAsyncHook, MediaIntelligenceHook
from airflow_provider_mi.triggers.person_thumbnail import MediaIntelligencePersonThumbnailUploadTrigger

WORKSPACE = "fault-workspace"
KEY = "persons/thumbnails/fault.png"
ACCESS_KEY = "fault-access-key"
SECRET = f"fault-secret-{secrets.token_hex(12)}"
CONN_ID = "mi_faults"
#: Attempts per call in these tests' connection (the default is 5).
MAX_ATTEMPTS = 3
#: More scripted faults than all the attempts of one call: the fault persists.
PERSISTENT = 10

RETRIED, FAILS, RETURNS = "retried", "fails at once", "returns a result"


@dataclass(frozen=True)
class Scene:
    """Where a case is played: the emulator, a second server to redirect to, a port nobody serves."""

    emulator: MediaIntelligenceEmulator
    other: MediaIntelligenceEmulator
    closed_port: int


@dataclass(frozen=True)
class Case:
    """
    One kind of failure and the provider's defined behaviour for it.

    :param kind: its name, as in the README's table.
    :param behaviour: ``RETRIED`` (then the error, once attempts are spent), ``FAILS`` at once,
        or ``RETURNS`` a result.
    :param error: the exception raised when it fails.
    :param says: what the error message says.
    :param fault: the emulator's scripted answer (or a function of the scene giving it), if any.
    :param conn: changes to the connection (a function of the scene), e.g. a wrong secret.
    :param state: emulator state to change, e.g. its clock.
    :param waits: bounds of every wait between attempts; ``None``: the backoff's jitter window.
    """

    kind: str
    behaviour: str
    error: type[MediaIntelligenceError] | None = None
    says: tuple[str, ...] = ()
    fault: Fault | Callable[[Scene], Fault] | None = None
    conn: Callable[[Scene], dict[str, Any]] | None = None
    state: dict[str, Any] = field(default_factory=dict)
    waits: tuple[float, float] | None = None


def redirect_elsewhere(scene: Scene) -> Fault:
    return faults.redirect(
        f"{scene.other.url}/api/v1/workspaces/{WORKSPACE}/person-thumbnail/uploads/complete"
    )


CASES = [
    Case("500", RETRIED, MediaIntelligenceApiError, ("HTTP 500", "Unexpected Error"), faults.http_error(500)),
    Case("502", RETRIED, MediaIntelligenceApiError, ("HTTP 502", "Endpoint Error"), faults.http_error(502)),
    Case("503", RETRIED, MediaIntelligenceApiError, ("HTTP 503", "Endpoint Error"), faults.http_error(503)),
    Case("504", RETRIED, MediaIntelligenceApiError, ("HTTP 504", "Endpoint Timeout"), faults.http_error(504)),
    Case(
        "429 Retry-After seconds",
        RETRIED,
        MediaIntelligenceApiError,
        ("HTTP 429", "Rate Limited"),
        faults.http_error(429, "7"),
        waits=(7.0, 7.0),
    ),
    Case(
        "429 Retry-After HTTP date",
        RETRIED,
        MediaIntelligenceApiError,
        ("HTTP 429",),
        faults.rate_limited_until(20),
        # A date has whole seconds: 19 to 20 s from the answer, less the time it took to arrive.
        waits=(10.0, 20.0),
    ),
    Case("429 no Retry-After", RETRIED, MediaIntelligenceApiError, ("HTTP 429",), faults.http_error(429)),
    Case(
        "connection refused",
        RETRIED,
        MediaIntelligenceConnectionError,
        ("could not connect", "Check the connection's host and port"),
        conn=lambda scene: {"host": f"http://127.0.0.1:{scene.closed_port}"},
    ),
    Case(
        "connection reset",
        RETRIED,
        MediaIntelligenceConnectionError,
        ("lost the connection before the whole answer arrived",),
        faults.reset(),
    ),
    Case(
        "read timeout",
        RETRIED,
        MediaIntelligenceConnectionError,
        ("got no answer within 0.5 s", "raise the connection's 'timeout' extra"),
        faults.slow(5.0),
        conn=lambda scene: {"extra": {"timeout": 0.5}},
    ),
    Case("slow response", RETURNS, fault=faults.slow(0.2)),
    Case(
        "truncated body",
        RETRIED,
        MediaIntelligenceConnectionError,
        ("lost the connection before the whole answer arrived",),
        faults.truncated(),
    ),
    Case(
        "invalid JSON",
        RETRIED,
        MediaIntelligenceResponseError,
        ("unreadable response", "not a JSON object"),
        faults.invalid_json(),
    ),
    Case(
        "HTML error page",
        RETRIED,
        MediaIntelligenceApiError,
        ("HTTP 502", "no API envelope (text/html: '502 Bad Gateway 502 Bad Gateway nginx')"),
        faults.gateway_html(502),
    ),
    Case(
        "HTTP 200, non-zero code",
        FAILS,
        MediaIntelligenceApiError,
        ("HTTP 200 (code 10001)", "Invalid Request"),
        faults.error_code("10001"),
    ),
    Case(
        "success without result",
        FAILS,
        MediaIntelligenceResponseError,
        ("the success envelope has no 'result' object",),
        faults.missing_result(),
    ),
    Case(
        "result without uploadStatus",
        FAILS,
        MediaIntelligenceResponseError,
        ("'result.uploadStatus' is missing",),
        faults.missing_upload_status(),
    ),
    Case("unknown uploadStatus", RETURNS, fault=faults.unknown_status("PROCESSING")),
    Case(
        "redirect to another host",
        FAILS,
        MediaIntelligenceApiError,
        ("HTTP 302", "not followed", "signed headers are only sent to the configured host"),
        redirect_elsewhere,
    ),
    Case(
        "401 bad signature",
        FAILS,
        MediaIntelligenceAuthenticationError,
        ("HTTP 401", "Signature is invalid", "secret key (password)"),
        conn=lambda scene: {"password": f"wrong-{SECRET}"},
    ),
    Case(
        "401 unknown access key",
        FAILS,
        MediaIntelligenceAuthenticationError,
        ("HTTP 401", "Access key is not registered", "access key (login)"),
        conn=lambda scene: {"login": "unknown-access-key"},
    ),
    Case(
        "401 stale timestamp",
        FAILS,
        MediaIntelligenceAuthenticationError,
        ("HTTP 401", "Timestamp is expired", "s behind the server's", "Synchronise the clock"),
        state={"clock_offset": 600},
    ),
    Case(
        "404 unknown workspace",
        FAILS,
        MediaIntelligenceApiError,
        ("HTTP 404", f"Workspace '{WORKSPACE}' does not exist", "Check the workspace name"),
        state={"workspaces": {"another-workspace"}},
    ),
]
TRANSIENT = [case for case in CASES if case.behaviour == RETRIED and case.fault is not None]
cases = pytest.mark.parametrize("case", CASES, ids=[case.kind for case in CASES])


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), (10, 90, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def scene() -> Iterator[Scene]:
    with (
        MediaIntelligenceEmulator(credentials={ACCESS_KEY: SECRET}) as emulator,
        MediaIntelligenceEmulator(credentials={ACCESS_KEY: SECRET}) as other,
        socket.socket() as closed,
    ):
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        emulator.state.store_thumbnail(WORKSPACE, KEY, png())
        yield Scene(emulator, other, closed.getsockname()[1])


def arrange(case: Case, scene: Scene, monkeypatch: pytest.MonkeyPatch, times: int) -> Fault | None:
    """Script the case: the fault ``times`` times for the key, the emulator's state, the connection."""
    fault = case.fault(scene) if callable(case.fault) else case.fault
    if fault is not None:
        scene.emulator.state.inject("complete", *[fault] * times, thumbnail_key=KEY)
    for name, value in case.state.items():
        setattr(scene.emulator.state, name, value)
    changes = case.conn(scene) if case.conn else {}
    conn = {
        "conn_type": "ncp_media_intelligence",
        "host": scene.emulator.url,
        "login": ACCESS_KEY,
        "password": SECRET,
        **changes,
        "extra": {"max_attempts": MAX_ATTEMPTS, **changes.get("extra", {})},
    }
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(conn))
    return fault


def complete_sync() -> UploadCompletion:
    hook = MediaIntelligenceHook(mi_conn_id=CONN_ID)
    try:
        return hook.complete_person_thumbnail_upload(WORKSPACE, KEY)
    finally:
        hook.close()


def complete_async() -> UploadCompletion:
    async def complete() -> UploadCompletion:
        hook = MediaIntelligenceAsyncHook(mi_conn_id=CONN_ID)
        try:
            return await hook.complete_person_thumbnail_upload(WORKSPACE, KEY)
        finally:
            await hook.close()

    return asyncio.run(asyncio.wait_for(complete(), timeout=30))


paths = pytest.mark.parametrize("complete", [complete_sync, complete_async], ids=["sync", "async"])


def attempts(scene: Scene) -> list[tuple[int, str | None]]:
    return [(entry.status, entry.fault) for entry in scene.emulator.state.requests_to("complete")]


def reaches_emulator(case: Case, scene: Scene) -> bool:
    """Whether the case's requests reach the emulator (not when the connection points elsewhere)."""
    return "host" not in (case.conn(scene) if case.conn else {})


def assert_no_secret_in(text: str, scene: Scene) -> None:
    """Neither the secret key nor any signature that was sent is in ``text``."""
    assert SECRET not in text
    for entry in scene.emulator.state.requests:
        assert entry.signature is None or entry.signature not in text


def assert_waits(case: Case, waits: list[float]) -> None:
    for number, wait in enumerate(waits, 1):
        low, high = case.waits or (0.0, 0.5 * 2 ** (number - 1))  # full jitter: 0 to the backoff
        assert low <= wait <= high, (number, wait)


@cases
@paths
def test_a_persistent_fault(
    case: Case, complete: Callable[[], UploadCompletion], scene: Scene, waits: list[float], monkeypatch
) -> None:
    fault = arrange(case, scene, monkeypatch, PERSISTENT)

    if case.behaviour == RETURNS:
        completion = complete()
        assert attempts(scene) == [(200, fault.name if fault else None)]
        assert waits == []
        if completion.status is None:
            assert completion.raw_status == "PROCESSING"
            assert completion.outcome().value == "waiting"
        else:
            assert completion.status is UploadStatus.COMPLETED
        return

    assert case.error is not None
    with pytest.raises(case.error) as caught:
        complete()

    error = caught.value
    for text in case.says:
        assert text in str(error)
    assert_no_secret_in(f"{error} {error!r}", scene)
    assert error.__cause__ is None
    expected_attempts = MAX_ATTEMPTS if case.behaviour == RETRIED else 1
    assert error.retryable is (case.behaviour == RETRIED)
    assert len(waits) == expected_attempts - 1
    assert_waits(case, waits)
    if reaches_emulator(case, scene):
        assert len(attempts(scene)) == expected_attempts
    else:
        assert scene.emulator.state.requests == []
    assert scene.other.state.requests == []  # a redirect is never followed


@pytest.mark.parametrize("case", TRANSIENT, ids=[case.kind for case in TRANSIENT])
@paths
def test_a_transient_fault_is_retried_then_succeeds(
    case: Case, complete: Callable[[], UploadCompletion], scene: Scene, waits: list[float], monkeypatch
) -> None:
    fault = arrange(case, scene, monkeypatch, 1)
    assert fault is not None

    completion = complete()

    assert completion.status is UploadStatus.COMPLETED
    assert attempts(scene) == [(fault.status or 200, fault.name), (200, None)]
    assert len(waits) == 1
    assert_waits(case, waits)


@cases
def test_what_a_deferred_sensor_makes_of_it(
    case: Case, scene: Scene, waits: list[float], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trigger: transient faults keep it polling, permanent ones end it with an error event."""
    # Enough faults to spend all the hook's attempts of one check; then the emulator answers normally.
    fault = arrange(case, scene, monkeypatch, MAX_ATTEMPTS)
    reachable = reaches_emulator(case, scene)
    trigger = MediaIntelligencePersonThumbnailUploadTrigger(
        thumbnail_key=KEY,
        workspace_name=WORKSPACE,
        mi_conn_id=CONN_ID,
        poke_interval=0.01,
        end_time=time.time() + 25,
    )

    async def run() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    [event] = asyncio.run(asyncio.wait_for(run(), timeout=30))

    assert_no_secret_in(json.dumps(event), scene)
    assert scene.other.state.requests == []
    if case.behaviour == FAILS:
        assert event["status"] == "error"
        for text in case.says:
            assert text in event["message"]
        assert len(attempts(scene)) == 1
    elif reachable:
        assert event["status"] == "success"
        assert event["result"] == {"uploadStatus": "COMPLETED", "uploadMessage": None}
        assert fault is not None
        assert attempts(scene)[0] == (fault.status or 200, fault.name)
        if case.behaviour == RETRIED:  # the first check failed after all its attempts, the next succeeded
            assert attempts(scene) == [(fault.status or 200, fault.name)] * MAX_ATTEMPTS + [(200, None)]
    else:
        # Nothing answers: it gives up after max_consecutive_errors checks, with the last error.
        assert event["status"] == "error"
        assert event["error"]["type"] == "MediaIntelligenceGaveUpError"
        assert f"Gave up after {DEFAULT_MAX_CONSECUTIVE_ERRORS} checks in a row failed" in event["message"]
        for text in case.says:
            assert text in event["message"]
        assert len(waits) == DEFAULT_MAX_CONSECUTIVE_ERRORS * (MAX_ATTEMPTS - 1)


@paths
def test_retries_are_bounded_in_time(
    complete: Callable[[], UploadCompletion], scene: Scene, waits: list[float], monkeypatch
) -> None:
    # Retry-After is capped at 30 s; a wait that would end past the budget is not started.
    scene.emulator.state.inject("complete", faults.http_error(429, "120"), thumbnail_key=KEY)
    arrange(Case("capped", RETRIED), scene, monkeypatch, 0)
    assert complete().status is UploadStatus.COMPLETED
    assert waits == [30.0]

    scene.emulator.state.inject("complete", faults.http_error(503, "30"), thumbnail_key=KEY)
    over_budget = Case("budget", RETRIED, conn=lambda scene: {"extra": {"retry_budget_seconds": 20}})
    arrange(over_budget, scene, monkeypatch, 0)
    with pytest.raises(MediaIntelligenceApiError, match="HTTP 503"):
        complete()
    assert waits == [30.0]  # no second wait
    assert [status for status, _ in attempts(scene)] == [429, 200, 503]


def test_faults_on_every_step_of_the_upload_flow(scene: Scene, waits: list[float], monkeypatch) -> None:
    """The sync flow survives a fault on each endpoint, a lost PUT answer included."""
    arrange(Case("flow", RETRIED), scene, monkeypatch, 0)
    state = scene.emulator.state
    state.inject("presigned-url", faults.http_error(503), faults.reset())
    state.inject("storage", faults.truncated())  # the upload lands, its answer is cut short
    state.inject("complete", faults.invalid_json())

    hook = MediaIntelligenceHook(mi_conn_id=CONN_ID)
    try:
        completion = hook.upload_person_thumbnail(WORKSPACE, "flow.png", png())
    finally:
        hook.close()

    assert completion.status is UploadStatus.COMPLETED
    assert [(entry.endpoint, entry.status, entry.fault) for entry in state.requests] == [
        ("presigned-url", 503, "503"),
        ("presigned-url", 200, "reset"),
        ("presigned-url", 200, None),
        ("storage", 200, "truncated"),
        ("storage", 403, None),  # the one-time URL was used by the first PUT: it may have landed
        ("complete", 200, "invalid-json"),
        ("complete", 200, None),
    ]
    assert len(waits) == 4


def test_a_redirect_of_the_upload_is_not_followed(scene: Scene, waits: list[float], monkeypatch) -> None:
    arrange(Case("put redirect", FAILS), scene, monkeypatch, 0)
    scene.emulator.state.inject("storage", faults.redirect(f"{scene.other.url}/_storage/elsewhere"))
    hook = MediaIntelligenceHook(mi_conn_id=CONN_ID)
    try:
        presigned = hook.create_presigned_upload(WORKSPACE, "moved.png")
        with pytest.raises(MediaIntelligenceUploadError) as caught:
            hook.put_thumbnail(presigned, png())
    finally:
        hook.close()

    assert "redirected the upload elsewhere (HTTP 302, not followed)" in str(caught.value)
    assert presigned.url not in str(caught.value)
    assert [entry.endpoint for entry in scene.emulator.state.requests] == ["presigned-url", "storage"]
    assert scene.other.state.requests == []
    assert waits == []
