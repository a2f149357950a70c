"""MediaIntelligenceHook and MediaIntelligenceAsyncHook against the emulator, over real sockets."""

from __future__ import annotations

import asyncio
import io
import json
import re
import socket
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests
from ncloud_server.api_client import ApiClient
from ncloud_server.configuration import Configuration
from PIL import Image

from airflow_provider_mi.core.models import UploadOutcome, UploadStatus
from airflow_provider_mi.core.signing import ACCESS_KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from airflow_provider_mi.emulator import DEFAULT_ACCESS_KEY, Fault, MediaIntelligenceEmulator
from airflow_provider_mi.exceptions import (
    InvalidParameterError,
    MediaIntelligenceApiError,
    MediaIntelligenceAuthenticationError,
    MediaIntelligenceConnectionError,
    MediaIntelligenceUploadError,
)
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceAsyncHook, MediaIntelligenceHook

WORKSPACE = "hook-tests"
WRONG_SECRET = "wrong-secret-7f3a9c"
API_PREFIX = "/api/v1"

DefineConnection = Callable[[str, str], MediaIntelligenceHook]


def make_png(side: int = 300) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (200, 80, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def conn_json(emulator: MediaIntelligenceEmulator, **changes: Any) -> str:
    """The emulator's connection in JSON form, with some fields changed."""
    return json.dumps({**json.loads(emulator.connection_json()), **changes})


def endpoints_called(emulator: MediaIntelligenceEmulator) -> list[tuple[str, int]]:
    return [(entry.endpoint, entry.status) for entry in emulator.state.requests]


@pytest.fixture
def hook(mi_emulator: MediaIntelligenceEmulator) -> Iterator[MediaIntelligenceHook]:
    """A hook on ``ncp_mi_default``, which ``mi_emulator`` points at the emulator."""
    hook = MediaIntelligenceHook()
    yield hook
    hook.close()


@pytest.fixture
def define_connection(monkeypatch: pytest.MonkeyPatch) -> Iterator[DefineConnection]:
    """``define_connection(conn_id, value)``: set ``AIRFLOW_CONN_<ID>``, return a hook on it."""
    hooks: list[MediaIntelligenceHook] = []

    def define(conn_id: str, value: str) -> MediaIntelligenceHook:
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", value)
        hooks.append(MediaIntelligenceHook(mi_conn_id=conn_id))
        return hooks[-1]

    yield define
    for hook in hooks:
        hook.close()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections: bound (so nobody else takes it), never listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


# --- signing and the upload flow ---


def test_signature_is_accepted_and_matches_the_ncp_sdk(
    hook: MediaIntelligenceHook, mi_emulator: MediaIntelligenceEmulator
) -> None:
    sent: list[requests.PreparedRequest] = []
    hook.session.hooks["response"].append(lambda response, *args, **kwargs: sent.append(response.request))

    completion = hook.complete_person_thumbnail_upload(WORKSPACE, "persons/thumbnails/absent.png")

    assert completion.reason == "FILE_NOT_EXIST"
    assert endpoints_called(mi_emulator) == [("complete", 200)]
    (request,) = sent
    assert request.headers[ACCESS_KEY_HEADER] == DEFAULT_ACCESS_KEY
    assert len(request.headers[TIMESTAMP_HEADER]) == 13
    # The official NCP SDK signs the same request the same way (an independent implementation).
    config = Configuration()
    config.host = mi_emulator.url + API_PREFIX
    config.access_key = DEFAULT_ACCESS_KEY
    config.secret_key = mi_emulator.state.credentials[DEFAULT_ACCESS_KEY]
    path = request.path_url
    assert path.startswith(API_PREFIX + "/workspaces/")
    expected = ApiClient(config).make_signature(
        "POST", path.removeprefix(API_PREFIX), [], request.headers[TIMESTAMP_HEADER]
    )
    assert request.headers[SIGNATURE_HEADER] == expected.decode()


def test_upload_flow_step_by_step(
    hook: MediaIntelligenceHook, mi_emulator: MediaIntelligenceEmulator
) -> None:
    presigned = hook.create_presigned_upload(WORKSPACE, "face.png")
    assert presigned.url.startswith(mi_emulator.url + "/")
    assert presigned.url not in repr(presigned)
    assert presigned.expiration_seconds == 900

    hook.put_thumbnail(presigned, make_png(300))
    completion = hook.complete_person_thumbnail_upload(WORKSPACE, presigned.thumbnail_key)

    assert completion.thumbnail_key == presigned.thumbnail_key
    assert completion.status is UploadStatus.COMPLETED
    assert completion.outcome() is UploadOutcome.COMPLETED
    assert completion.to_api_dict() == {"uploadStatus": "COMPLETED", "uploadMessage": None}
    assert endpoints_called(mi_emulator) == [("presigned-url", 200), ("storage", 200), ("complete", 200)]


def test_upload_person_thumbnail_runs_the_whole_flow(
    hook: MediaIntelligenceHook, mi_emulator: MediaIntelligenceEmulator
) -> None:
    completion = hook.upload_person_thumbnail(WORKSPACE, "portrait.png", make_png(300))

    assert completion.status is UploadStatus.COMPLETED
    assert completion.reason is None
    assert completion.thumbnail_key.endswith("portrait.png")
    assert completion.to_api_dict() == {"uploadStatus": "COMPLETED", "uploadMessage": None}
    assert [entry.endpoint for entry in mi_emulator.state.requests] == [
        "presigned-url",
        "storage",
        "complete",
    ]
    assert mi_emulator.state.requests[-1].thumbnail_key == completion.thumbnail_key
    assert all(
        entry.path.startswith(f"/api/v1/workspaces/{WORKSPACE}/")
        for entry in mi_emulator.state.requests
        if entry.endpoint != "storage"
    )


def test_completion_of_a_missing_upload_is_waiting(
    hook: MediaIntelligenceHook, mi_emulator: MediaIntelligenceEmulator
) -> None:
    completion = hook.complete_person_thumbnail_upload(WORKSPACE, "persons/thumbnails/not-yet.png")

    assert completion.status is UploadStatus.FAILED
    assert completion.outcome() is UploadOutcome.WAITING
    assert completion.to_api_dict() == {"uploadStatus": "FAILED", "uploadMessage": "FILE_NOT_EXIST"}


def test_a_presigned_url_is_refused_the_second_time(
    hook: MediaIntelligenceHook, mi_emulator: MediaIntelligenceEmulator, waits: list[float]
) -> None:
    presigned = hook.create_presigned_upload(WORKSPACE, "once.png")
    hook.put_thumbnail(presigned, make_png(300))

    with pytest.raises(MediaIntelligenceUploadError) as caught:
        hook.put_thumbnail(presigned, make_png(300))

    assert "refused the upload of" in str(caught.value)
    assert "(HTTP 403, URL issued 0 s ago, valid 900 s)" in str(caught.value)
    assert presigned.url not in str(caught.value)
    assert waits == []


def test_the_default_workspace_comes_from_the_connection(
    define_connection: DefineConnection, mi_emulator: MediaIntelligenceEmulator
) -> None:
    hook = define_connection(
        "mi_default_workspace", conn_json(mi_emulator, extra={"workspace_name": "from-extra"})
    )

    hook.complete_person_thumbnail_upload(None, "persons/thumbnails/a.png")

    assert (
        mi_emulator.state.requests[0].path
        == "/api/v1/workspaces/from-extra/person-thumbnail/uploads/complete"
    )


# --- connection forms: JSON and URI ---


def test_json_connection_with_extras(
    define_connection: DefineConnection, mi_emulator: MediaIntelligenceEmulator
) -> None:
    extra = {"workspace_name": "json-workspace", "timeout": 7, "max_attempts": 3, "verify_ssl": False}
    hook = define_connection("mi_json", conn_json(mi_emulator, extra=extra))

    settings = hook.settings

    assert settings.base_url == mi_emulator.url
    assert settings.access_key == DEFAULT_ACCESS_KEY
    assert (settings.workspace_name, settings.timeout, settings.retry.max_attempts) == (
        "json-workspace",
        7,
        3,
    )
    assert settings.verify_ssl is False
    assert hook.test_connection()[0] is True


def test_json_connection_with_extra_as_a_string(
    define_connection: DefineConnection, mi_emulator: MediaIntelligenceEmulator
) -> None:
    hook = define_connection(
        "mi_json_text", conn_json(mi_emulator, extra=json.dumps({"workspace_name": "text-extra"}))
    )

    assert hook.settings.workspace_name == "text-extra"


def test_uri_connection_takes_the_scheme_from_the_schema_field(
    define_connection: DefineConnection, mi_emulator: MediaIntelligenceEmulator
) -> None:
    port = mi_emulator.url.rsplit(":", 1)[1]
    secret = mi_emulator.state.credentials[DEFAULT_ACCESS_KEY]
    uri = f"ncp-media-intelligence://{DEFAULT_ACCESS_KEY}:{secret}@127.0.0.1:{port}/http"
    hook = define_connection("mi_uri", uri)

    conn = hook.get_connection("mi_uri")
    assert (conn.conn_type, conn.host, conn.port, conn.schema) == (
        "ncp_media_intelligence",
        "127.0.0.1",
        int(port),
        "http",
    )
    assert hook.settings.base_url == mi_emulator.url

    completion = hook.upload_person_thumbnail(WORKSPACE, "uri.png", make_png(300))
    assert completion.status is UploadStatus.COMPLETED


def test_uri_connection_with_encoded_secret_and_query_extras(define_connection: DefineConnection) -> None:
    secret = "s3cr/t+key=with@odd:chars"
    with MediaIntelligenceEmulator(credentials={"uri-access-key": secret}) as emulator:
        port = emulator.url.rsplit(":", 1)[1]
        uri = (
            f"ncp-media-intelligence://uri-access-key:{quote(secret, safe='')}@127.0.0.1:{port}/http"
            "?workspace_name=uri-workspace&max_attempts=2"
        )
        hook = define_connection("mi_uri_query", uri)

        assert hook.settings.secret_key == secret
        assert hook.settings.workspace_name == "uri-workspace"
        assert hook.settings.retry.max_attempts == 2
        ok, message = hook.test_connection()

    assert ok, message
    assert "uri-workspace" in message
    assert [entry.status for entry in emulator.state.requests] == [200]


def test_uri_with_an_underscore_scheme_is_not_a_connection_type(
    define_connection: DefineConnection, mi_emulator: MediaIntelligenceEmulator
) -> None:
    # RFC 3986 schemes have no '_': Airflow cannot parse the connection type's own name as a scheme,
    # so the URI form must spell it ncp-media-intelligence:// (both Airflow 2.11 and 3.3).
    hook = define_connection("mi_bad_uri", "ncp_media_intelligence://a:b@127.0.0.1:1/http")

    with pytest.raises(InvalidParameterError):
        hook.settings  # noqa: B018
    assert mi_emulator.state.requests == []


# --- failures ---


def test_wrong_secret_fails_at_once_without_leaking_it(
    define_connection: DefineConnection, mi_emulator: MediaIntelligenceEmulator, waits: list[float]
) -> None:
    hook = define_connection("mi_wrong_secret", conn_json(mi_emulator, password=WRONG_SECRET))

    with pytest.raises(MediaIntelligenceAuthenticationError) as caught:
        hook.complete_person_thumbnail_upload(WORKSPACE, "persons/thumbnails/a.png")

    error = caught.value
    assert error.status == 401
    assert error.retryable is False
    assert "secret key (password)" in str(error)
    assert WRONG_SECRET not in str(error)
    assert WRONG_SECRET not in repr(error)
    assert endpoints_called(mi_emulator) == [("complete", 401)]
    assert waits == []


@pytest.mark.parametrize(("offset", "direction"), [(600, "behind"), (-600, "ahead of")])
def test_a_skewed_clock_is_named_in_the_error(
    define_connection: DefineConnection, waits: list[float], offset: int, direction: str
) -> None:
    with MediaIntelligenceEmulator(clock_offset=offset) as emulator:
        hook = define_connection("mi_skewed", emulator.connection_json())
        with pytest.raises(MediaIntelligenceAuthenticationError) as caught:
            hook.complete_person_thumbnail_upload(WORKSPACE, "persons/thumbnails/a.png")

    message = str(caught.value)
    # The skew is read from the Date header, which has whole seconds: 599 or 600 s.
    skew = re.search(rf"This machine's clock is (\d+) s {direction} the server's", message)
    assert skew, message
    assert 595 <= int(skew[1]) <= 605
    assert "Synchronise the clock" in message
    assert [entry.status for entry in emulator.state.requests] == [401]
    assert waits == []


def test_transient_errors_are_retried_until_success(
    hook: MediaIntelligenceHook, mi_emulator: MediaIntelligenceEmulator, waits: list[float]
) -> None:
    mi_emulator.state.inject("complete", Fault(503), Fault(503))

    completion = hook.complete_person_thumbnail_upload(WORKSPACE, "persons/thumbnails/a.png")

    assert completion.to_api_dict() == {"uploadStatus": "FAILED", "uploadMessage": "FILE_NOT_EXIST"}
    assert endpoints_called(mi_emulator) == [("complete", 503), ("complete", 503), ("complete", 200)]
    assert len(waits) == 2
    assert all(0 <= wait <= 10 for wait in waits)


def test_retry_after_is_honoured(
    hook: MediaIntelligenceHook, mi_emulator: MediaIntelligenceEmulator, waits: list[float]
) -> None:
    mi_emulator.state.inject("presigned-url", Fault(503, headers=(("Retry-After", "1"),)))
    mi_emulator.state.inject("complete", Fault(429, headers=(("Retry-After", "2"),)))

    completion = hook.upload_person_thumbnail(WORKSPACE, "later.png", make_png(300))

    assert completion.status is UploadStatus.COMPLETED
    assert waits == [1.0, 2.0]
    assert [status for _, status in endpoints_called(mi_emulator)] == [503, 200, 200, 429, 200]


def test_a_400_is_not_retried(
    hook: MediaIntelligenceHook, mi_emulator: MediaIntelligenceEmulator, waits: list[float]
) -> None:
    body = json.dumps({"code": "10001", "message": "Invalid Request."}).encode()
    mi_emulator.state.inject("complete", Fault(400, body))

    with pytest.raises(MediaIntelligenceApiError) as caught:
        hook.complete_person_thumbnail_upload(WORKSPACE, "persons/thumbnails/a.png")

    assert (caught.value.status, caught.value.code) == (400, "10001")
    assert "Invalid Request." in str(caught.value)
    assert endpoints_called(mi_emulator) == [("complete", 400)]
    assert waits == []


def test_exhausted_attempts_raise_the_last_error(
    hook: MediaIntelligenceHook, mi_emulator: MediaIntelligenceEmulator, waits: list[float]
) -> None:
    gateway_timeout = json.dumps({"error": {"errorCode": "510", "message": "Endpoint Timeout"}}).encode()
    mi_emulator.state.inject("complete", *[Fault(503)] * 4, Fault(504, gateway_timeout))

    with pytest.raises(MediaIntelligenceApiError) as caught:
        hook.complete_person_thumbnail_upload(WORKSPACE, "persons/thumbnails/a.png")

    assert (caught.value.status, caught.value.code, caught.value.message) == (504, "510", "Endpoint Timeout")
    assert len(mi_emulator.state.requests_to("complete")) == 5  # the default max_attempts
    assert len(waits) == 4


def test_max_attempts_extra_is_honoured(
    define_connection: DefineConnection, mi_emulator: MediaIntelligenceEmulator, waits: list[float]
) -> None:
    hook = define_connection("mi_two_attempts", conn_json(mi_emulator, extra={"max_attempts": 2}))
    mi_emulator.state.inject("complete", Fault(503), Fault(502), Fault(500))

    with pytest.raises(MediaIntelligenceApiError) as caught:
        hook.complete_person_thumbnail_upload(WORKSPACE, "persons/thumbnails/a.png")

    assert caught.value.status == 502
    assert endpoints_called(mi_emulator) == [("complete", 503), ("complete", 502)]
    assert len(waits) == 1


def test_an_unreachable_host_is_retried_then_reported(
    define_connection: DefineConnection,
    mi_emulator: MediaIntelligenceEmulator,
    closed_port: int,
    waits: list[float],
) -> None:
    hook = define_connection("mi_unreachable", conn_json(mi_emulator, host=f"http://127.0.0.1:{closed_port}"))

    with pytest.raises(MediaIntelligenceConnectionError) as caught:
        hook.complete_person_thumbnail_upload(WORKSPACE, "persons/thumbnails/a.png")

    assert f"127.0.0.1:{closed_port}" in str(caught.value)
    assert "Check the connection's host" in str(caught.value)
    assert len(waits) == 4
    assert mi_emulator.state.requests == []


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (lambda hook: hook.complete_person_thumbnail_upload("Bad_Workspace", "persons/k.png"), "'_'"),
        (lambda hook: hook.complete_person_thumbnail_upload("ws", "persons/k.png"), "2 characters long"),
        (lambda hook: hook.complete_person_thumbnail_upload(WORKSPACE, "  "), "thumbnail_key is empty"),
        (
            lambda hook: hook.complete_person_thumbnail_upload(None, "persons/k.png"),
            "workspace_name is not set",
        ),
        (lambda hook: hook.create_presigned_upload(WORKSPACE, "dir/face.png"), "not a plain file name"),
        (
            lambda hook: hook.upload_person_thumbnail(WORKSPACE, "tiny.png", make_png(100)),
            "RESOLUTION_NOT_SUPPORT",
        ),
        (
            lambda hook: hook.upload_person_thumbnail(WORKSPACE, "face.gif", b"GIF89a..."),
            "not a JPEG, PNG or WebP",
        ),
    ],
    ids=[
        "bad-characters",
        "too-short",
        "blank-key",
        "no-workspace",
        "file-path",
        "too-small",
        "not-an-image",
    ],
)
def test_invalid_arguments_send_nothing(
    hook: MediaIntelligenceHook, mi_emulator: MediaIntelligenceEmulator, call: Any, problem: str
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        call(hook)

    assert problem in str(caught.value)
    assert mi_emulator.state.requests == []


# --- test_connection ---


def test_test_connection_succeeds(
    hook: MediaIntelligenceHook, mi_emulator: MediaIntelligenceEmulator
) -> None:
    ok, message = hook.test_connection()

    assert ok is True
    assert mi_emulator.url in message
    assert endpoints_called(mi_emulator) == [("workspace", 200)], "a read-only probe"


def test_test_connection_reads_the_connections_workspace(define_connection: DefineConnection) -> None:
    with MediaIntelligenceEmulator(workspaces={"team-faces"}) as emulator:
        hook = define_connection("mi_named_ws", emulator.connection_json(workspace_name="team-faces"))
        ok, message = hook.test_connection()
        workspace = hook.get_workspace()
        url = emulator.url

    assert ok is True
    assert message == f"Connection works: workspace 'team-faces' found at {url}."
    assert workspace.workspace_name == "team-faces"
    assert workspace.workspace_url
    assert [(entry.method, entry.endpoint) for entry in emulator.state.requests] == [("GET", "workspace")] * 2


def test_test_connection_accepts_an_unknown_placeholder_workspace(
    define_connection: DefineConnection,
) -> None:
    with MediaIntelligenceEmulator(workspaces={"only-this-one"}) as emulator:
        hook = define_connection("mi_known_workspaces", emulator.connection_json())
        ok, message = hook.test_connection()

    assert ok is True
    assert "Credentials accepted" in message
    assert [entry.status for entry in emulator.state.requests] == [404]


def test_test_connection_reports_an_unknown_default_workspace(define_connection: DefineConnection) -> None:
    with MediaIntelligenceEmulator(workspaces={"only-this-one"}) as emulator:
        hook = define_connection("mi_missing_ws", emulator.connection_json(workspace_name="not-there"))
        ok, message = hook.test_connection()

    assert ok is False
    assert "HTTP 404" in message
    assert "'not-there' does not exist" in message


def test_test_connection_failures_each_say_what_to_fix(
    define_connection: DefineConnection, mi_emulator: MediaIntelligenceEmulator, closed_port: int
) -> None:
    wrong_secret = define_connection("mi_t_secret", conn_json(mi_emulator, password=WRONG_SECRET))
    unreachable = define_connection(
        "mi_t_unreachable", conn_json(mi_emulator, host=f"http://127.0.0.1:{closed_port}")
    )
    no_secret = define_connection("mi_t_no_secret", conn_json(mi_emulator, password=""))
    with MediaIntelligenceEmulator(clock_offset=600) as skewed_emulator:
        skewed = define_connection("mi_t_skewed", skewed_emulator.connection_json())
        skew_result = skewed.test_connection()

    results = {
        "secret": wrong_secret.test_connection(),
        "clock": skew_result,
        "unreachable": unreachable.test_connection(),
        "no secret": no_secret.test_connection(),
    }

    assert all(ok is False for ok, _ in results.values()), results
    messages = {name: message for name, (_, message) in results.items()}
    assert len(set(messages.values())) == len(messages)
    assert messages["secret"].startswith("Credentials rejected")
    assert "secret key (password)" in messages["secret"]
    assert "clock" in messages["clock"]
    assert "Synchronise the clock" in messages["clock"]
    assert "clock" not in messages["unreachable"]
    assert f"127.0.0.1:{closed_port}" in messages["unreachable"]
    assert "Check the connection's host" in messages["unreachable"]
    assert "no secret key" in messages["no secret"]
    assert WRONG_SECRET not in " ".join(messages.values())
    # One request each, no retries: a connection test answers fast.
    assert endpoints_called(mi_emulator) == [("workspace", 401)]
    assert [entry.status for entry in skewed_emulator.state.requests] == [401]


# --- secrets stay out of reprs ---


def test_reprs_do_not_contain_the_secret(
    define_connection: DefineConnection, mi_emulator: MediaIntelligenceEmulator
) -> None:
    secret = "very-secret-value-42"
    hook = define_connection("mi_repr", conn_json(mi_emulator, password=secret))

    assert hook.settings.secret_key == secret
    for text in (repr(hook), repr(hook.settings), str(hook.settings)):
        assert secret not in text
    assert "mi_repr" in repr(hook)
    assert DEFAULT_ACCESS_KEY in repr(hook.settings)


# --- the async hook ---


def test_async_hook_completes_an_upload(
    hook: MediaIntelligenceHook, mi_emulator: MediaIntelligenceEmulator
) -> None:
    presigned = hook.create_presigned_upload(WORKSPACE, "async.png")
    hook.put_thumbnail(presigned, make_png(300))

    async def complete_twice() -> list[Any]:
        async_hook = MediaIntelligenceAsyncHook()
        try:
            missing = await async_hook.complete_person_thumbnail_upload(
                WORKSPACE, "persons/thumbnails/none.png"
            )
            done = await async_hook.complete_person_thumbnail_upload(WORKSPACE, presigned.thumbnail_key)
        finally:
            await async_hook.close()
        return [missing, done]

    missing, done = asyncio.run(asyncio.wait_for(complete_twice(), timeout=60))

    assert missing.outcome() is UploadOutcome.WAITING
    assert done.status is UploadStatus.COMPLETED
    assert done.to_api_dict() == {"uploadStatus": "COMPLETED", "uploadMessage": None}
    assert endpoints_called(mi_emulator)[-2:] == [("complete", 200), ("complete", 200)]


def test_async_hook_retries_and_rejects_like_the_sync_hook(
    monkeypatch: pytest.MonkeyPatch, mi_emulator: MediaIntelligenceEmulator
) -> None:
    mi_emulator.state.inject("complete", Fault(503, headers=(("Retry-After", "0"),)))
    monkeypatch.setenv("AIRFLOW_CONN_MI_ASYNC_WRONG", conn_json(mi_emulator, password=WRONG_SECRET))

    async def run() -> tuple[Any, BaseException]:
        good, wrong = MediaIntelligenceAsyncHook(), MediaIntelligenceAsyncHook(mi_conn_id="mi_async_wrong")
        try:
            completion = await good.complete_person_thumbnail_upload(WORKSPACE, "persons/thumbnails/a.png")
            with pytest.raises(MediaIntelligenceAuthenticationError) as caught:
                await wrong.complete_person_thumbnail_upload(WORKSPACE, "persons/thumbnails/a.png")
        finally:
            await good.close()
            await wrong.close()
        return completion, caught.value

    completion, error = asyncio.run(asyncio.wait_for(run(), timeout=60))

    assert completion.reason == "FILE_NOT_EXIST"
    assert WRONG_SECRET not in str(error)
    assert endpoints_called(mi_emulator) == [("complete", 503), ("complete", 200), ("complete", 401)]
