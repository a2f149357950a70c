"""ApiRequest: URL joining and the signed headers of each attempt."""

from __future__ import annotations

import time

from airflow_provider_mi.core import endpoints
from airflow_provider_mi.core.signing import (
    ACCESS_KEY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    make_signature,
)


def test_url_joins_base_and_path():
    request = endpoints.complete_upload_request("my-ws", "persons/thumbnails/a.jpg")
    expected = "http://127.0.0.1:8080/api/v1/workspaces/my-ws/person-thumbnail/uploads/complete"
    assert request.url("http://127.0.0.1:8080") == expected
    assert request.url("http://127.0.0.1:8080/") == expected


def test_headers_are_signed_for_this_request_with_json_content_type():
    request = endpoints.presigned_url_request("my-ws", "a.jpg")
    before = int(time.time() * 1000)
    headers = request.headers("ak", "sk")
    after = int(time.time() * 1000)
    assert headers["Content-Type"] == "application/json"
    assert headers[ACCESS_KEY_HEADER] == "ak"
    assert before <= int(headers[TIMESTAMP_HEADER]) <= after
    assert headers[SIGNATURE_HEADER] == make_signature(
        "POST", request.path, headers[TIMESTAMP_HEADER], "ak", "sk"
    )


def test_headers_without_body_have_no_content_type():
    request = endpoints.ApiRequest("GET", "/api/v1/workspaces/my-ws/persons?page=2")
    headers = request.headers("ak", "sk")
    assert "Content-Type" not in headers
    assert headers[SIGNATURE_HEADER] == make_signature(
        "GET", "/api/v1/workspaces/my-ws/persons?page=2", headers[TIMESTAMP_HEADER], "ak", "sk"
    )


def test_headers_are_signed_anew_on_each_call():
    request = endpoints.complete_upload_request("my-ws", "persons/thumbnails/a.jpg")
    first = request.headers("ak", "sk")
    second = request.headers("ak", "sk")
    assert int(second[TIMESTAMP_HEADER]) >= int(first[TIMESTAMP_HEADER])
    for headers in (first, second):
        assert headers[SIGNATURE_HEADER] == make_signature(
            "POST", request.path, headers[TIMESTAMP_HEADER], "ak", "sk"
        )
