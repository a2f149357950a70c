"""
Hostile and bad input through the hooks, operators and sensor, against a running emulator.

Every bad value is refused with an :class:`InvalidParameterError` naming the field, before any
request: the emulator's log stays empty and no HTTP request leaves the process. Property-based
tests then show that any valid workspace and key is signed and accepted by the emulator's
verifier over real HTTP, on both HTTP clients, and that no input can change the request path.
(The validators themselves are unit-tested in ``tests/core``.)
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest
import requests
from airflow.providers.common.compat.sdk import AirflowFailException
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from airflow_provider_mi.core.validation import MAX_THUMBNAIL_KEY_BYTES
from airflow_provider_mi.emulator import MediaIntelligenceEmulator
from airflow_provider_mi.exceptions import InvalidParameterError
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceAsyncHook, MediaIntelligenceHook
from airflow_provider_mi.operators.person_thumbnail import (
    MediaIntelligenceCompletePersonThumbnailUploadOperator,
    MediaIntelligenceUploadPersonThumbnailOperator,
)
from airflow_provider_mi.sensors.person_thumbnail import MediaIntelligencePersonThumbnailUploadSensor

WORKSPACE = "hostile-ws"
KEY = "persons/thumbnails/k.png"
CONN_ID = "mi_hostile"
COMPLETE_PATH = "/api/v1/workspaces/{}/person-thumbnail/uploads/complete"


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """URLs of every request either hook's HTTP client sends (they still go out)."""
    urls: list[str] = []
    real_send, real_request = requests.Session.send, aiohttp.ClientSession._request

    def send(session: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        urls.append(str(request.url))
        return real_send(session, request, **kwargs)

    def request(session: aiohttp.ClientSession, method: str, url: Any, **kwargs: Any) -> Any:
        urls.append(str(url))
        return real_request(session, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "send", send)
    monkeypatch.setattr(aiohttp.ClientSession, "_request", request)
    return urls


@pytest.fixture
def nothing_sent(
    mi_emulator: MediaIntelligenceEmulator, sent: list[str]
) -> Iterator[MediaIntelligenceEmulator]:
    """The emulator; after the test, proof that no request was made at all."""
    yield mi_emulator
    assert mi_emulator.state.requests == []
    assert sent == []


def refused(call: Callable[[], Any], *fragments: str) -> str:
    """
    Run ``call`` expecting an InvalidParameterError whose message has every fragment; the operators
    raise it as an AirflowFailException (no retries), caused by the InvalidParameterError.
    """
    with pytest.raises((InvalidParameterError, AirflowFailException)) as caught:
        call()
    error = caught.value
    assert isinstance(
        error if isinstance(error, InvalidParameterError) else error.__cause__, InvalidParameterError
    )
    message = str(error)
    for fragment in fragments:
        assert fragment in message
    return message


def complete_sync(workspace: Any, key: Any, conn_id: str = "ncp_mi_default") -> Any:
    hook = MediaIntelligenceHook(mi_conn_id=conn_id)
    try:
        return hook.complete_person_thumbnail_upload(workspace, key)
    finally:
        hook.close()


def complete_async(workspace: Any, key: Any, conn_id: str = "ncp_mi_default") -> Any:
    async def complete() -> Any:
        hook = MediaIntelligenceAsyncHook(mi_conn_id=conn_id)
        try:
            return await hook.complete_person_thumbnail_upload(workspace, key)
        finally:
            await hook.close()

    return asyncio.run(asyncio.wait_for(complete(), timeout=30))


paths = pytest.mark.parametrize("complete", [complete_sync, complete_async], ids=["sync", "async"])


# --- workspace names and thumbnail keys -----------------------------------------------------------

BAD_WORKSPACES = [
    pytest.param("ws/evil", "contains '/'", id="slash"),
    pytest.param("..", "is 2 characters long", id="dot-dot"),
    pytest.param("../../admin", "contains '.', '/'", id="traversal"),
    pytest.param("%2e%2e", "contains '%'", id="encoded-dot-dot"),
    pytest.param("ws%2Fevil", "contains '%', 'F'", id="encoded-slash"),
    pytest.param("ws?x=1", "contains '=', '?'", id="query"),
    pytest.param("ws#top", "contains '#'", id="fragment"),
    pytest.param("my workspace", "contains ' '", id="space"),
    pytest.param("ws-name\n", "control character '\\n'", id="newline"),
    pytest.param("MyWorkspace", "contains 'M', 'W'", id="uppercase"),
    pytest.param("", "workspace_name is empty", id="empty"),
    pytest.param("a" * 64, "is 64 characters long", id="over-long"),
    pytest.param("wörkspace", "contains 'ö'", id="non-ascii"),
    pytest.param(42, "must be a string, got int", id="not-a-string"),
]

BAD_KEYS = [
    pytest.param("", "thumbnail_key is empty", id="empty"),
    pytest.param(None, "thumbnail_key must be a string, got NoneType", id="none"),
    pytest.param(12345, "must be a string, got int", id="int"),
    pytest.param(b"persons/k.png", "must be a string, got bytes", id="bytes"),
    pytest.param("k.png\r\nX-Injected: 1", "control character '\\r'", id="header-injection"),
    pytest.param("k\x00.png", "control character '\\x00'", id="nul"),
    pytest.param("k.png\x7f", "control character '\\x7f'", id="del"),
    pytest.param("k" * 1025, "is 1025 bytes long", id="over-long"),
    pytest.param("é" * 513, "is 1026 bytes long", id="over-long-in-utf8"),
    pytest.param("k\ud800.png", "not valid Unicode text", id="lone-surrogate"),
]


@paths
@pytest.mark.parametrize(("workspace", "problem"), BAD_WORKSPACES)
def test_bad_workspace_names(complete, workspace, problem, nothing_sent) -> None:
    refused(lambda: complete(workspace, KEY), "workspace_name", problem)


@paths
@pytest.mark.parametrize(("key", "problem"), BAD_KEYS)
def test_bad_thumbnail_keys(complete, key, problem, nothing_sent) -> None:
    refused(lambda: complete(WORKSPACE, key), "thumbnail_key", problem)


@pytest.mark.parametrize(
    ("file_name", "problem"),
    [
        ("../../etc/passwd", "not a plain file name"),
        ("dir\\face.png", "not a plain file name"),
        ("..", "not a plain file name"),
        ("f" * 252 + ".png", "is 256 characters long"),
        ("face\n.png", "control character '\\n'"),
    ],
)
def test_bad_file_names(file_name, problem, nothing_sent) -> None:
    hook = MediaIntelligenceHook()
    refused(lambda: hook.create_presigned_upload(WORKSPACE, file_name), "file_name", problem)
    refused(lambda: hook.upload_person_thumbnail(WORKSPACE, file_name, png(300)), "file_name", problem)


# --- connections -----------------------------------------------------------------------------------

BAD_CONNECTIONS = [
    pytest.param({"login": None}, "has no access key", "login field", id="no-login"),
    pytest.param({"login": "   "}, "has no access key", "login field", id="blank-login"),
    pytest.param({"password": None}, "has no secret key", "password field", id="no-password"),
    pytest.param({"host": "ftp://127.0.0.1:21"}, "Connection host", "uses the scheme 'ftp'", id="ftp"),
    pytest.param({"host": "file:///etc/passwd"}, "Connection host", "uses the scheme 'file'", id="file"),
    pytest.param(
        {"host": "http://example.com"}, "Connection host", "plain http to a non-loopback", id="http"
    ),
    pytest.param(
        {"host": "http://10.1.2.3:8080"}, "Connection host", "plain http to a non-loopback", id="http-lan"
    ),
    pytest.param({"host": "{url}/api/v1"}, "Connection host", "has a path or query", id="host-with-path"),
    pytest.param(
        {"host": "http://u:p@127.0.0.1:1"}, "Connection host", "with no credentials", id="credentials"
    ),
    pytest.param(
        {"extra": {"timeout": "abc"}}, "extra 'timeout' is 'abc'", "positive number", id="timeout-text"
    ),
    pytest.param(
        {"extra": {"timeout": -1}}, "extra 'timeout' is -1", "positive number", id="timeout-negative"
    ),
    pytest.param(
        {"extra": {"max_attempts": 0}}, "extra 'max_attempts' is 0", "positive whole", id="no-attempts"
    ),
    pytest.param(
        {"extra": {"max_attempts": "many"}}, "'max_attempts' is 'many'", "whole number", id="attempts-text"
    ),
    pytest.param(
        {"extra": {"max_attempts": 2.5}}, "'max_attempts' is 2.5", "whole number", id="attempts-fraction"
    ),
    pytest.param(
        {"extra": {"retry_budget_seconds": -5}}, "'retry_budget_seconds' is -5", "positive", id="budget"
    ),
    pytest.param(
        {"extra": {"verify_ssl": "maybe"}}, "'verify_ssl' is 'maybe'", "true or false", id="verify-ssl"
    ),
    pytest.param({"extra": {"retries": 3}}, "unknown extras ['retries']", "Known extras", id="unknown-extra"),
    pytest.param(
        {"extra": {"workspace_name": "Bad WS"}}, "workspace_name extra 'Bad WS'", "not a valid", id="ws-extra"
    ),
]


@paths
@pytest.mark.parametrize(("changes", "field", "problem"), BAD_CONNECTIONS)
def test_bad_connections(complete, changes, field, problem, nothing_sent, monkeypatch) -> None:
    conn = json.loads(nothing_sent.connection_json())
    conn.update(
        {
            name: value.format(url=nothing_sent.url) if name == "host" else value
            for name, value in changes.items()
        }
    )
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps(conn))

    message = refused(lambda: complete(WORKSPACE, KEY, CONN_ID), field, problem)

    assert nothing_sent.state.credentials[nothing_sent.access_key] not in message
    ok, test_message = MediaIntelligenceHook(mi_conn_id=CONN_ID).test_connection()
    assert (ok, test_message) == (False, message)


# --- operators and sensor -------------------------------------------------------------------------


def png(side: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (120, 30, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("contents", "problem"),
    [
        pytest.param(None, "cannot be read: No such file or directory", id="missing"),
        pytest.param("dir", "cannot be read: Is a directory", id="a-directory"),
        pytest.param(png(300) + b"\0" * (5 * 1024 * 1024), "OVER_SIZE_LIMIT", id="over-5-MB"),
        pytest.param(png(100), "RESOLUTION_NOT_SUPPORT", id="under-256-px"),
        pytest.param(b"name,face\nalice,1\n", "not a JPEG, PNG or WebP", id="not-an-image"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "corrupt", id="corrupt-png"),
    ],
)
def test_the_upload_operator_refuses_a_file_it_cannot_send(contents, problem, tmp_path, nothing_sent) -> None:
    path = tmp_path / "face.png"
    if contents == "dir":
        path.mkdir()
    elif contents is not None:
        path.write_bytes(contents)
    operator = MediaIntelligenceUploadPersonThumbnailOperator(
        task_id="upload", file_path=str(path), workspace_name=WORKSPACE
    )

    message = refused(lambda: operator.execute({}), problem)

    assert "face.png" in message


def test_the_operators_validate_rendered_values_before_sending(nothing_sent) -> None:
    complete = MediaIntelligenceCompletePersonThumbnailUploadOperator(
        task_id="c", thumbnail_key=KEY, workspace_name="../admin"
    )
    refused(lambda: complete.execute({}), "workspace_name '../admin'")
    upload = MediaIntelligenceUploadPersonThumbnailOperator(
        task_id="u", data=png(300), file_name="../face.png", workspace_name=WORKSPACE
    )
    refused(lambda: upload.execute({}), "file_name '../face.png'", "not a plain file name")


@pytest.mark.parametrize("deferrable", [False, True], ids=["poke", "deferrable"])
def test_the_sensor_validates_before_its_first_poke(deferrable, nothing_sent) -> None:
    sensor = MediaIntelligencePersonThumbnailUploadSensor(
        task_id="wait", thumbnail_key="k.png\n", workspace_name=WORKSPACE, deferrable=deferrable
    )
    refused(lambda: sensor.execute({}), "thumbnail_key", "control character '\\n'")
    sensor = MediaIntelligencePersonThumbnailUploadSensor(
        task_id="wait", thumbnail_key=KEY, workspace_name="%2e%2e", deferrable=deferrable
    )
    refused(lambda: sensor.execute({}), "workspace_name '%2e%2e'")


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        pytest.param(
            {"poke_interval": 0}, "poke_interval must be a positive number", id="zero-poke-interval"
        ),
        pytest.param({"poke_interval": -5}, "poke_interval", id="negative-poke-interval"),
        pytest.param(
            {"waiting_reasons": ["FILE_NOT_READY"]}, "unknown reasons ['FILE_NOT_READY']", id="unknown-reason"
        ),
        pytest.param(
            {"waiting_reasons": ["COMPLETED"]}, "unknown reasons ['COMPLETED']", id="status-as-reason"
        ),
    ],
)
def test_bad_sensor_arguments_are_refused_when_the_dag_is_parsed(arguments, problem, nothing_sent) -> None:
    with pytest.raises(Exception, match=r"poke_interval|waiting_reasons") as caught:
        MediaIntelligencePersonThumbnailUploadSensor(
            task_id="wait", thumbnail_key=KEY, workspace_name=WORKSPACE, **arguments
        )
    assert problem in str(caught.value)


# --- properties over real HTTP ---------------------------------------------------------------------

_valid_workspaces = st.from_regex(r"[a-z0-9-]{3,63}", fullmatch=True)
_valid_keys = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc",)), min_size=1, max_size=200
).filter(lambda key: key.strip() and len(key.encode()) <= MAX_THUMBNAIL_KEY_BYTES)
_nasty_workspaces = st.one_of(
    st.text(max_size=70),
    st.sampled_from(["../x", "ws/..", "%2e%2e", "ws%2f", "ws?q", "ws#f", "ws;x", "ws\\x", "ws\x00", "ws/"]),
    _valid_workspaces,
)


@pytest.fixture(scope="module")
def property_emulator() -> Iterator[MediaIntelligenceEmulator]:
    """One emulator for all examples, connection ``mi_property`` pointing at it."""
    with MediaIntelligenceEmulator() as emulator, pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_MI_PROPERTY", emulator.connection_json())
        yield emulator


def new_entries(emulator: MediaIntelligenceEmulator, before: int) -> list[Any]:
    return emulator.state.requests[before:]


@paths
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(workspace=_valid_workspaces, key=_valid_keys)
def test_any_valid_workspace_and_key_is_signed_and_accepted(
    complete, property_emulator, workspace, key
) -> None:
    before = len(property_emulator.state.requests)

    completion = complete(workspace, key, "mi_property")

    assert completion.to_api_dict() == {"uploadStatus": "FAILED", "uploadMessage": "FILE_NOT_EXIST"}
    [entry] = new_entries(property_emulator, before)
    assert (entry.status, entry.path, entry.thumbnail_key) == (200, COMPLETE_PATH.format(workspace), key)


@settings(max_examples=50, deadline=None)
@given(
    workspace=_nasty_workspaces, key=st.one_of(_valid_keys, st.sampled_from(["../../x", "%2e%2e/", "?q#f"]))
)
def test_no_input_can_change_the_request_path(property_emulator, workspace, key) -> None:
    """Either nothing is sent, or the emulator saw exactly the fixed path for that workspace."""
    before = len(property_emulator.state.requests)
    try:
        complete_sync(workspace, key, "mi_property")
    except InvalidParameterError as err:
        assert "workspace_name" in str(err)
        assert new_entries(property_emulator, before) == []
        return
    [entry] = new_entries(property_emulator, before)
    assert entry.status == 200
    assert entry.path == COMPLETE_PATH.format(workspace)
    assert entry.thumbnail_key == key  # the key travels in the body, never in the path


@settings(max_examples=25, deadline=None)
@given(
    file_name=st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cc",)), min_size=1, max_size=60
    )
)
def test_no_file_name_can_change_the_request_path(property_emulator, file_name) -> None:
    before = len(property_emulator.state.requests)
    hook = MediaIntelligenceHook(mi_conn_id="mi_property")
    try:
        presigned = hook.create_presigned_upload(WORKSPACE, file_name)
    except InvalidParameterError as err:
        assert "file_name" in str(err)
        assert new_entries(property_emulator, before) == []
        return
    finally:
        hook.close()
    [entry] = new_entries(property_emulator, before)
    assert (entry.status, entry.path) == (
        200,
        f"/api/v1/workspaces/{WORKSPACE}/person-thumbnail/uploads/presigned-url",
    )
    assert presigned.thumbnail_key.endswith(file_name)
    assert "/" not in file_name and "\\" not in file_name
