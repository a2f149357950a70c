"""The emulator over real sockets on 127.0.0.1, driven with plain ``requests`` and ``signed_headers``."""

from __future__ import annotations

import base64
import io
import json
import math
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from email.utils import parsedate_to_datetime

import pytest
import requests
from emulator_command import emulator_command
from PIL import Image

from airflow_provider_mi.core import endpoints
from airflow_provider_mi.core.images import MAX_IMAGE_BYTES
from airflow_provider_mi.core.models import UploadOutcome
from airflow_provider_mi.core.responses import parse_api_response, parse_completion, parse_presigned_upload
from airflow_provider_mi.core.signing import signed_headers
from airflow_provider_mi.emulator import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_SECRET_KEY,
    Fault,
    MediaIntelligenceEmulator,
    RecordedRequest,
)
from airflow_provider_mi.exceptions import MediaIntelligenceApiError, MediaIntelligenceAuthenticationError

TIMEOUT = 10
WORKSPACE = "demo"


def make_png(width: int = 300, height: int = 300) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (30, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # never through a proxy: 127.0.0.1 only
        yield session


@pytest.fixture
def emulator() -> Iterator[MediaIntelligenceEmulator]:
    with MediaIntelligenceEmulator() as running:
        yield running


def call(
    http: requests.Session,
    emulator: MediaIntelligenceEmulator,
    request: endpoints.ApiRequest,
    *,
    access_key: str = DEFAULT_ACCESS_KEY,
    secret_key: str = DEFAULT_SECRET_KEY,
    timestamp_ms: int | None = None,
    signed_path: str | None = None,
) -> requests.Response:
    """Send one signed API request; by default signed with the emulator's own clock."""
    if timestamp_ms is None:
        timestamp_ms = int(emulator.state.now() * 1000)
    headers = signed_headers(
        request.method, signed_path or request.path, access_key, secret_key, timestamp_ms=timestamp_ms
    )
    headers["Content-Type"] = endpoints.JSON_CONTENT_TYPE
    return http.request(
        request.method, request.url(emulator.url), data=request.body, headers=headers, timeout=TIMEOUT
    )


def presign(http, emulator, file_name: str = "face.png", workspace: str = WORKSPACE):
    response = call(http, emulator, endpoints.presigned_url_request(workspace, file_name))
    assert response.status_code == 200, response.text
    return parse_presigned_upload(
        parse_api_response(response.status_code, response.headers, response.content)
    )


def complete(http, emulator, key: str, workspace: str = WORKSPACE):
    response = call(http, emulator, endpoints.complete_upload_request(workspace, key))
    assert response.status_code == 200, response.text
    return parse_completion(parse_api_response(response.status_code, response.headers, response.content), key)


def put(http, url: str, data: bytes) -> requests.Response:
    return http.put(url, data=data, timeout=TIMEOUT)


# --- the upload flow ------------------------------------------------------------------------------


def test_full_flow_presigned_put_complete(http, emulator):
    response = call(http, emulator, endpoints.presigned_url_request(WORKSPACE, "face.png"))
    assert response.status_code == 200
    envelope = response.json()
    assert (envelope["code"], envelope["message"]) == ("0", "success")
    upload = parse_presigned_upload(envelope["result"])
    assert upload.thumbnail_key.startswith("persons/thumbnails/")
    assert upload.thumbnail_key.endswith("-face.png")
    assert upload.url.startswith(emulator.url + "/")
    assert upload.expiration_seconds == 900

    assert put(http, upload.url, make_png()).status_code == 200

    completion = complete(http, emulator, upload.thumbnail_key)
    assert completion.to_api_dict() == {"uploadStatus": "COMPLETED", "uploadMessage": None}
    assert completion.outcome() is UploadOutcome.COMPLETED


def test_presigned_url_is_one_time(http, emulator):
    upload = presign(http, emulator)
    assert put(http, upload.url, make_png()).status_code == 200
    second = put(http, upload.url, make_png())
    assert second.status_code == 403
    assert "already used" in second.text
    assert [entry.thumbnail_key for entry in emulator.state.requests_to("storage")] == [
        upload.thumbnail_key
    ] * 2


def test_unknown_upload_url_is_refused(http, emulator):
    response = put(http, emulator.url + "/_storage/not-a-token", make_png())
    assert response.status_code == 403
    assert "unknown upload URL" in response.text
    assert emulator.state.requests_to("storage")[0].thumbnail_key is None


def test_expired_presigned_url(http, emulator):
    emulator.state.url_ttl = 0
    upload = presign(http, emulator)
    assert upload.expiration_seconds == 0
    response = put(http, upload.url, make_png())
    assert response.status_code == 403
    assert "expired" in response.text
    assert complete(http, emulator, upload.thumbnail_key).reason == "FILE_NOT_EXIST"


def test_visibility_delay_gives_file_not_exist_then_completed(http):
    with MediaIntelligenceEmulator(visibility_delay=600) as emulator:
        upload = presign(http, emulator)
        assert put(http, upload.url, make_png()).status_code == 200

        early = complete(http, emulator, upload.thumbnail_key)
        assert early.to_api_dict() == {"uploadStatus": "FAILED", "uploadMessage": "FILE_NOT_EXIST"}
        assert early.outcome() is UploadOutcome.WAITING

        emulator.state.clock_offset = 601  # ten minutes pass (requests are signed with this clock)
        later = complete(http, emulator, upload.thumbnail_key)
        assert later.outcome() is UploadOutcome.COMPLETED


def test_completion_before_any_upload_is_file_not_exist(http, emulator):
    upload = presign(http, emulator)
    assert complete(http, emulator, upload.thumbnail_key).reason == "FILE_NOT_EXIST"


def test_completion_in_another_workspace_does_not_see_the_upload(http, emulator):
    upload = presign(http, emulator, workspace="ws-one")
    assert put(http, upload.url, make_png()).status_code == 200
    assert complete(http, emulator, upload.thumbnail_key, workspace="ws-two").reason == "FILE_NOT_EXIST"
    assert complete(http, emulator, upload.thumbnail_key, workspace="ws-one").raw_status == "COMPLETED"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (make_png() + b"\0" * MAX_IMAGE_BYTES, "OVER_SIZE_LIMIT"),
        (make_png(255, 400), "RESOLUTION_NOT_SUPPORT"),
        (b"GIF89a not accepted", "FILE_FORMAT_NOT_SUPPORT"),
    ],
    ids=["over-size", "resolution", "format"],
)
def test_rejected_images_fail_completion_with_the_reason(http, emulator, data, reason):
    upload = presign(http, emulator)
    assert put(http, upload.url, data).status_code == 200
    completion = complete(http, emulator, upload.thumbnail_key)
    assert completion.to_api_dict() == {"uploadStatus": "FAILED", "uploadMessage": reason}
    assert completion.outcome() is UploadOutcome.FAILED


@pytest.mark.parametrize(
    ("body", "field"),
    [(b"{}", "thumbnailKey"), (b"not json", "thumbnailKey"), (b'{"thumbnailKey": " "}', "")],
)
def test_complete_without_a_key_is_invalid_request(http, emulator, body, field):
    request = endpoints.ApiRequest("POST", endpoints.complete_upload_request(WORKSPACE, "k").path, body)
    response = call(http, emulator, request)
    assert response.status_code == 400
    assert response.json()["code"] == "10001"
    assert field in response.json()["message"]


# --- workspaces -----------------------------------------------------------------------------------


def workspace_request(name: str) -> endpoints.ApiRequest:
    return endpoints.ApiRequest("GET", f"/api/v1/workspaces/{name}")


def test_get_workspace_describes_it(http, emulator):
    response = call(http, emulator, workspace_request(WORKSPACE))
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert (envelope["code"], envelope["message"]) == ("0", "success")
    result = envelope["result"]
    assert sorted(result) == sorted(
        [
            "workspaceName",
            "workspaceUrl",
            "bucketName",
            "monthlyAnalysisCount",
            "createdUserName",
            "createdTime",
            "updatedUserName",
            "updatedTime",
        ]
    )
    assert result["workspaceName"] == WORKSPACE
    assert result["workspaceUrl"] == f"{emulator.url}/_emulator/workspaces/{WORKSPACE}"
    upload = presign(http, emulator)
    assert put(http, upload.url, make_png()).status_code == 200
    page = http.get(result["workspaceUrl"], timeout=TIMEOUT)
    assert page.json() == {"workspaceName": WORKSPACE, "thumbnailKeys": [upload.thumbnail_key]}
    assert result["monthlyAnalysisCount"] == 0
    assert result["bucketName"] and result["createdUserName"] and result["updatedUserName"]
    created = datetime.fromisoformat(result["createdTime"])
    assert created.utcoffset() is not None
    assert created.timestamp() <= emulator.state.now()
    assert datetime.fromisoformat(result["updatedTime"]) >= created
    assert replace(emulator.state.requests[0], signature=None) == RecordedRequest(
        "GET", "workspace", f"/api/v1/workspaces/{WORKSPACE}", 200
    )


def test_get_unknown_workspace_is_a_media_intelligence_404(http):
    with MediaIntelligenceEmulator(workspaces={"demo"}) as emulator:
        assert call(http, emulator, workspace_request("demo")).status_code == 200
        response = call(http, emulator, workspace_request("other-ws"))
        assert response.status_code == 404
        assert response.json() == {
            "code": "10001",
            "message": "Invalid Request. Workspace 'other-ws' does not exist.",
        }
        with pytest.raises(MediaIntelligenceApiError) as info:
            parse_api_response(response.status_code, response.headers, response.content)
        assert (info.value.status, info.value.code) == (404, "10001")
        assert [entry.status for entry in emulator.state.requests_to("workspace")] == [200, 404]


def test_get_workspace_is_signed_and_rate_limited(http):
    with MediaIntelligenceEmulator(rate_limits={"workspace": (1, 600)}) as emulator:
        unsigned = http.get(emulator.url + f"/api/v1/workspaces/{WORKSPACE}", timeout=TIMEOUT)
        assert_authentication_failed(unsigned, "Signature headers are missing.")
        wrong = call(http, emulator, workspace_request(WORKSPACE), secret_key="wrong")
        assert_authentication_failed(wrong, "Signature is invalid.")
        assert call(http, emulator, workspace_request(WORKSPACE)).status_code == 200
        throttled = call(http, emulator, workspace_request(WORKSPACE))
        assert throttled.status_code == 429
        assert emulator.state.stats()["throttled"]["workspace"] == 1
        assert call(http, emulator, endpoints.presigned_url_request(WORKSPACE, "a.png")).status_code == 200


# --- the gateway ----------------------------------------------------------------------------------


def assert_authentication_failed(response: requests.Response, details: str) -> None:
    assert response.status_code == 401
    assert response.json() == {
        "error": {"errorCode": "200", "message": "Authentication Failed", "details": details}
    }
    with pytest.raises(MediaIntelligenceAuthenticationError) as info:
        parse_api_response(response.status_code, response.headers, response.content)
    assert info.value.code == "200"


def test_wrong_secret_is_401(http, emulator):
    response = call(http, emulator, endpoints.presigned_url_request(WORKSPACE, "a.png"), secret_key="wrong")
    assert_authentication_failed(response, "Signature is invalid.")


def test_unknown_access_key_is_401(http, emulator):
    request = endpoints.presigned_url_request(WORKSPACE, "a.png")
    response = call(http, emulator, request, access_key="nobody", secret_key=DEFAULT_SECRET_KEY)
    assert_authentication_failed(response, "Access key is not registered.")


def test_stale_timestamp_is_401_with_a_clock_hint(http):
    with MediaIntelligenceEmulator(clock_offset=600) as emulator:
        request = endpoints.complete_upload_request(WORKSPACE, "persons/thumbnails/a.png")
        response = call(http, emulator, request, timestamp_ms=int(time.time() * 1000))
        assert_authentication_failed(response, "Timestamp is expired.")
        with pytest.raises(MediaIntelligenceAuthenticationError) as info:
            parse_api_response(response.status_code, response.headers, response.content)
        assert "behind the server's" in (info.value.hint or "")


def test_signature_covers_the_query_string(http, emulator):
    request = endpoints.presigned_url_request(WORKSPACE, "a.png")
    with_query = endpoints.ApiRequest(request.method, request.path + "?trace=1", request.body)
    assert call(http, emulator, with_query).status_code == 200
    response = call(http, emulator, with_query, signed_path=request.path)
    assert_authentication_failed(response, "Signature is invalid.")


def test_missing_signature_headers_are_401(http, emulator):
    request = endpoints.presigned_url_request(WORKSPACE, "a.png")
    response = http.post(request.url(emulator.url), data=request.body, timeout=TIMEOUT)
    assert_authentication_failed(response, "Signature headers are missing.")


def test_unknown_route_is_a_gateway_404(http, emulator):
    response = call(http, emulator, endpoints.ApiRequest("POST", "/api/v1/workspaces/demo/assets", b"{}"))
    assert response.status_code == 404
    assert response.json() == {"error": {"errorCode": "300", "message": "Not Found Exception"}}
    with pytest.raises(MediaIntelligenceApiError) as info:
        parse_api_response(response.status_code, response.headers, response.content)
    assert (info.value.code, info.value.retryable) == ("300", False)
    assert emulator.state.requests[-1].endpoint == "other"


def test_unknown_workspace_is_404(http):
    with MediaIntelligenceEmulator(workspaces={"demo"}) as emulator:
        response = call(http, emulator, endpoints.presigned_url_request("other-ws", "a.png"))
        assert response.status_code == 404
        assert response.json()["code"] == "10001"
        assert "'other-ws' does not exist" in response.json()["message"]
        assert presign(http, emulator, workspace="demo").thumbnail_key


def test_injected_faults_are_answered_once_each_then_normal_behaviour_resumes(http, emulator):
    upload = presign(http, emulator)
    assert put(http, upload.url, make_png()).status_code == 200
    emulator.state.inject(
        "complete",
        Fault(503, b'{"error": {"errorCode": "500", "message": "Endpoint Error"}}', (("Retry-After", "7"),)),
        Fault(502, b"<html>Bad Gateway</html>"),
    )
    request = endpoints.complete_upload_request(WORKSPACE, upload.thumbnail_key)

    first = call(http, emulator, request)
    assert (first.status_code, first.headers["Retry-After"]) == (503, "7")
    with pytest.raises(MediaIntelligenceApiError) as info:
        parse_api_response(first.status_code, first.headers, first.content)
    assert (info.value.code, info.value.retry_after, info.value.retryable) == ("500", 7.0, True)

    second = call(http, emulator, request)
    assert (second.status_code, second.text) == (502, "<html>Bad Gateway</html>")

    third = call(http, emulator, request)
    assert third.status_code == 200
    assert third.json()["result"]["uploadStatus"] == "COMPLETED"
    assert [entry.status for entry in emulator.state.requests_to("complete")] == [503, 502, 200]


def test_faults_are_per_endpoint(http, emulator):
    emulator.state.inject("storage", Fault(500))
    upload = presign(http, emulator)  # not affected
    assert put(http, upload.url, make_png()).status_code == 500
    assert put(http, upload.url, make_png()).status_code == 200  # the fault did not use up the URL


def test_request_log(http, emulator):
    upload = presign(http, emulator)
    put(http, upload.url, make_png())
    complete(http, emulator, upload.thumbnail_key)
    call(http, emulator, endpoints.complete_upload_request(WORKSPACE, upload.thumbnail_key), secret_key="bad")

    base = f"/api/v1/workspaces/{WORKSPACE}/person-thumbnail/uploads/"
    storage_path = upload.url.removeprefix(emulator.url)
    assert [replace(entry, signature=None) for entry in emulator.state.requests] == [
        RecordedRequest("POST", "presigned-url", base + "presigned-url", 200, upload.thumbnail_key),
        RecordedRequest("PUT", "storage", storage_path, 200, upload.thumbnail_key),
        RecordedRequest("POST", "complete", base + "complete", 200, upload.thumbnail_key),
        RecordedRequest("POST", "complete", base + "complete", 401, upload.thumbnail_key),
    ]
    assert [entry.status for entry in emulator.state.requests_to("complete")] == [200, 401]
    # The signature received is logged (for leak checks): base64 of a SHA-256, none for storage.
    signatures = [entry.signature for entry in emulator.state.requests]
    assert signatures[1] is None
    assert all(len(base64.b64decode(signatures[i] or "")) == 32 for i in (0, 2, 3))
    assert signatures[2] != signatures[3]


@pytest.mark.parametrize("offset", [0, 3600, -3600])
def test_date_header_follows_the_clock_offset(http, offset):
    with MediaIntelligenceEmulator(clock_offset=offset) as emulator:
        before = time.time()
        response = call(http, emulator, endpoints.presigned_url_request(WORKSPACE, "a.png"))
        after = time.time()
    assert response.status_code == 200
    server_time = parsedate_to_datetime(response.headers["Date"]).timestamp()
    # the Date header has whole seconds (truncated)
    assert math.floor(before + offset) <= server_time <= after + offset


def test_connection_json_points_at_the_emulator(emulator):
    conn = json.loads(emulator.connection_json("my-ws"))
    assert conn == {
        "conn_type": "ncp_media_intelligence",
        "host": emulator.url,
        "login": DEFAULT_ACCESS_KEY,
        "password": DEFAULT_SECRET_KEY,
        "extra": {"workspace_name": "my-ws"},
    }
    assert emulator.url.startswith("http://127.0.0.1:")
    env = emulator.airflow_env()
    assert list(env) == ["AIRFLOW_CONN_NCP_MI_DEFAULT"]
    assert json.loads(env["AIRFLOW_CONN_NCP_MI_DEFAULT"])["host"] == emulator.url


def test_url_is_unavailable_when_stopped():
    emulator = MediaIntelligenceEmulator()
    with pytest.raises(RuntimeError, match="not running"):
        _ = emulator.url
    with emulator:
        assert emulator.url
    with pytest.raises(RuntimeError, match="not running"):
        _ = emulator.url


# --- the command line -----------------------------------------------------------------------------


def test_command_line_prints_url_and_connection_and_stops_on_sigterm(http):
    with emulator_command("--port", "0", "--workspace", "cli-ws") as command:
        first = command.next_line()
        second = command.next_line(TIMEOUT)
        assert first.startswith("Media Intelligence emulator listening on http://127.0.0.1:")
        url = first.rsplit(" ", 1)[1].strip()
        prefix = "export AIRFLOW_CONN_NCP_MI_DEFAULT='"
        assert second.startswith(prefix)
        conn = json.loads(second.strip().removeprefix(prefix).removesuffix("'"))
        assert (conn["host"], conn["login"], conn["password"]) == (
            url,
            DEFAULT_ACCESS_KEY,
            DEFAULT_SECRET_KEY,
        )

        request = endpoints.presigned_url_request("cli-ws", "a.png")
        headers = signed_headers(request.method, request.path, conn["login"], conn["password"])
        response = http.post(request.url(url), data=request.body, headers=headers, timeout=TIMEOUT)
        assert response.status_code == 200
        assert response.json()["code"] == "0"

        assert command.stop() == 0
