"""Reading success and error envelopes, Retry-After and typed results."""

from __future__ import annotations

import json
import time
from email.utils import formatdate

import pytest
from requests.structures import CaseInsensitiveDict

from airflow_provider_mi.core.models import PresignedUpload, UploadCompletion
from airflow_provider_mi.core.responses import (
    parse_api_response,
    parse_completion,
    parse_presigned_upload,
    parse_retry_after,
    server_clock_skew,
)
from airflow_provider_mi.exceptions import (
    MediaIntelligenceApiError,
    MediaIntelligenceAuthenticationError,
    MediaIntelligenceError,
    MediaIntelligenceResponseError,
)

NOW = 1_445_412_480.0  # Wed, 21 Oct 2015 07:28:00 GMT


def body(payload) -> bytes:
    return json.dumps(payload).encode()


def api_error(
    status: int, payload=None, raw: bytes | None = None, **headers: str
) -> MediaIntelligenceApiError:
    data = raw if raw is not None else body(payload)
    with pytest.raises(MediaIntelligenceApiError) as info:
        parse_api_response(status, CaseInsensitiveDict(headers), data)
    return info.value


# --- success --------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["0", 0, None])
def test_success_envelope_returns_result(code):
    payload = {"message": "success", "result": {"uploadStatus": "COMPLETED", "uploadMessage": None}}
    if code is not None:
        payload["code"] = code
    assert parse_api_response(200, {}, body(payload)) == payload["result"]


def test_other_2xx_statuses_are_successes():
    assert parse_api_response(201, {}, body({"code": "0", "result": {"a": 1}})) == {"a": 1}


# --- error envelopes ------------------------------------------------------------------------------


def test_mi_error_envelope_flat():
    err = api_error(400, {"code": "10001", "message": "Invalid Request."})
    assert type(err) is MediaIntelligenceApiError
    assert (err.status, err.code, err.message, err.details) == (400, "10001", "Invalid Request.", None)
    assert str(err) == "Media Intelligence API answered HTTP 400 (code 10001): Invalid Request."


def test_mi_error_envelope_wrapped_in_response_error():
    err = api_error(400, {"responseError": {"code": 10014, "message": "Thumbnail key is invalid."}})
    assert (err.status, err.code, err.message) == (400, "10014", "Thumbnail key is invalid.")


@pytest.mark.parametrize("error_code", ["300", 300])
def test_gateway_envelope_with_string_or_int_error_code(error_code):
    err = api_error(
        404, {"error": {"errorCode": error_code, "message": "Not Found Exception", "details": "no route"}}
    )
    assert (err.code, err.message, err.details) == ("300", "Not Found Exception", "no route")
    assert "HTTP 404 (code 300): Not Found Exception. no route." in str(err)
    assert not err.retryable


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_throttling_and_server_errors_are_retryable(status):
    err = api_error(status, {"error": {"errorCode": "500", "message": "Endpoint Error"}})
    assert err.retryable
    assert not isinstance(err, MediaIntelligenceAuthenticationError)


@pytest.mark.parametrize("status", [400, 403, 404, 409, 413])
def test_other_client_errors_are_not_retryable(status):
    err = api_error(status, {"code": "10001", "message": "Invalid Request."})
    assert not err.retryable
    assert err.status == status


def test_html_error_page_in_502():
    page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    err = api_error(502, raw=page)
    assert err.code is None and err.message is None
    assert err.details is not None and err.details.startswith(
        "the body is no API envelope (no content type: '<html><head><title>502 Bad"
    )
    assert err.retryable


def test_error_body_that_is_not_utf8_is_reported_not_raised():
    err = api_error(500, raw=b"\xff\xfe broken \x80")
    assert "the body is no API envelope" in (err.details or "")


def test_empty_error_body_has_no_details():
    err = api_error(503, raw=b"")
    assert (err.code, err.message, err.details) == (None, None, None)
    assert str(err) == "Media Intelligence API answered HTTP 503"


def test_redirect_is_an_error_naming_the_location():
    err = api_error(302, raw=b"", Location="https://elsewhere.example.com/login")
    assert "redirect to 'https://elsewhere.example.com/login' not followed" in (err.details or "")
    assert "Check the connection's host" in str(err)
    assert not err.retryable


# --- authentication -------------------------------------------------------------------------------


def test_401_is_an_authentication_error_with_a_hint():
    err = api_error(401, {"error": {"errorCode": "200", "message": "Authentication Failed"}})
    assert isinstance(err, MediaIntelligenceAuthenticationError)
    assert err.code == "200"
    assert not err.retryable
    assert err.hint is not None and "access key (login) and secret key (password)" in err.hint
    assert err.hint in str(err)


def test_401_permission_denied_gets_subscription_hint():
    err = api_error(401, {"error": {"errorCode": 210, "message": "Permission Denied"}})
    assert isinstance(err, MediaIntelligenceAuthenticationError)
    assert "subscribed" in (err.hint or "")


def test_401_without_json_still_gets_the_credentials_hint():
    err = api_error(401, raw=b"Unauthorized")
    assert isinstance(err, MediaIntelligenceAuthenticationError)
    assert "access key" in (err.hint or "")


@pytest.mark.parametrize(("offset", "direction"), [(600, "behind"), (-600, "ahead of")])
def test_401_with_skewed_server_date_gets_clock_hint(offset, direction):
    date = formatdate(time.time() + offset, usegmt=True)
    err = api_error(401, {"error": {"errorCode": "200", "message": "Authentication Failed"}}, Date=date)
    assert isinstance(err, MediaIntelligenceAuthenticationError)
    assert f"s {direction} the server's" in (err.hint or "")
    assert "Synchronise the clock (NTP)" in (err.hint or "")


def test_401_with_close_server_date_keeps_the_credentials_hint():
    date = formatdate(time.time() + 100, usegmt=True)
    err = api_error(401, {"error": {"errorCode": "200", "message": "Authentication Failed"}}, Date=date)
    assert "Synchronise" not in (err.hint or "")
    assert "access key" in (err.hint or "")


def test_server_clock_skew():
    assert server_clock_skew({"Date": "Wed, 21 Oct 2015 07:33:00 GMT"}, now=NOW) == 300.0
    assert server_clock_skew({"Date": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=NOW + 10) == -10.0
    assert server_clock_skew({}, now=NOW) is None
    assert server_clock_skew({"Date": "yesterday"}, now=NOW) is None


# --- Retry-After ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "expected"), [("120", 120.0), ("0", 0.0), (" 7 ", 7.0)])
def test_retry_after_seconds(value, expected):
    assert parse_retry_after(value, now=NOW) == expected


def test_retry_after_http_date():
    assert parse_retry_after("Wed, 21 Oct 2015 07:30:00 GMT", now=NOW) == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=NOW) == 0.0
    # a date in the past means "now", never a negative wait
    assert parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now=NOW) == 0.0


@pytest.mark.parametrize(
    "value", [None, "", "soon", "-5", "1.5", "12 seconds", "Wed, 21 Oct 2015 07:30:00 -0000", "Mon, 99 Foo"]
)
def test_retry_after_garbage_is_ignored(value):
    assert parse_retry_after(value, now=NOW) is None


def test_retry_after_superscript_digit_is_garbage():
    assert parse_retry_after("\u00b2", now=NOW) is None


def test_garbage_retry_after_does_not_mask_the_api_error():
    with pytest.raises(MediaIntelligenceApiError):
        parse_api_response(503, {"Retry-After": "\u00b2"}, b"")


def test_retry_after_is_read_from_error_responses():
    err = api_error(429, {"error": {"errorCode": "420", "message": "Rate Limited"}}, **{"retry-after": "3"})
    assert err.retry_after == 3.0
    assert err.retryable


def test_garbage_retry_after_on_error_response_is_ignored():
    err = api_error(503, raw=b"", **{"Retry-After": "whenever"})
    assert err.retry_after is None


# --- unreadable 2xx bodies ------------------------------------------------------------------------


def test_200_with_non_zero_code_is_an_api_error():
    err = api_error(200, {"code": "10023", "message": "Workspace is busy."})
    assert (err.status, err.code, err.message) == (200, "10023", "Workspace is busy.")
    assert not err.retryable


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"", "empty body"),
        (b'{"code": "0", "result": {', "not a JSON object (25 bytes)"),
        (b"<html>ok</html>", "not a JSON object"),
        (b"[1, 2]", "not a JSON object"),
        (b"\xff\xfe", "not a JSON object"),
    ],
)
def test_200_with_unreadable_body_is_a_retryable_response_error(data, problem):
    with pytest.raises(MediaIntelligenceResponseError) as info:
        parse_api_response(200, {}, data)
    assert info.value.retryable is True
    assert problem in str(info.value)
    assert isinstance(info.value, MediaIntelligenceError)


@pytest.mark.parametrize(
    "payload",
    [{"code": "0", "message": "success"}, {"code": "0", "result": None}, {"code": "0", "result": [1]}],
)
def test_200_without_result_object_is_not_retryable(payload):
    with pytest.raises(MediaIntelligenceResponseError, match="no 'result' object") as info:
        parse_api_response(200, {}, body(payload))
    assert info.value.retryable is False


# --- typed results --------------------------------------------------------------------------------


def test_parse_completion():
    completion = parse_completion({"uploadStatus": "FAILED", "uploadMessage": "OVER_SIZE_LIMIT"}, "k.jpg")
    assert completion == UploadCompletion("k.jpg", "FAILED", "OVER_SIZE_LIMIT")
    assert parse_completion({"uploadStatus": "COMPLETED"}, "k.jpg") == UploadCompletion("k.jpg", "COMPLETED")
    assert parse_completion({"uploadStatus": "FAILED", "uploadMessage": 7}, "k").reason == "7"


@pytest.mark.parametrize(
    "result",
    [
        {},
        {"uploadStatus": ""},
        {"uploadStatus": None},
        {"uploadStatus": 1},
        {"uploadMessage": "FILE_NOT_EXIST"},
    ],
)
def test_parse_completion_without_status_raises(result):
    with pytest.raises(MediaIntelligenceResponseError, match="uploadStatus") as info:
        parse_completion(result, "k.jpg")
    assert info.value.retryable is False


def test_parse_presigned_upload():
    upload = parse_presigned_upload(
        {"thumbnailKey": "persons/thumbnails/a.jpg", "url": "https://s3/x?sig=1", "expirationSeconds": 900}
    )
    assert upload == PresignedUpload("persons/thumbnails/a.jpg", "https://s3/x?sig=1", 900)
    assert parse_presigned_upload({"thumbnailKey": "k", "url": "u"}).expiration_seconds is None
    assert parse_presigned_upload({"thumbnailKey": "k", "url": "u", "expirationSeconds": "900"}) == (
        PresignedUpload("k", "u", None)
    )


@pytest.mark.parametrize(
    "result",
    [
        {},
        {"thumbnailKey": "k"},
        {"url": "u"},
        {"thumbnailKey": "", "url": "u"},
        {"thumbnailKey": 1, "url": "u"},
    ],
)
def test_parse_presigned_upload_missing_fields(result):
    with pytest.raises(MediaIntelligenceResponseError, match=r"thumbnailKey' or 'result\.url") as info:
        parse_presigned_upload(result)
    assert info.value.retryable is False
