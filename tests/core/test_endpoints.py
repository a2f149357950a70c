"""Endpoints as data and the requests built from them: paths, queries, limits, signed headers."""

from __future__ import annotations

import re
import time

import pytest

from airflow_provider_mi.core import endpoints, rate_limit
from airflow_provider_mi.core.models import UploadCompletion
from airflow_provider_mi.core.signing import (
    ACCESS_KEY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    make_signature,
)
from airflow_provider_mi.exceptions import InvalidParameterError


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


# --- endpoints as data ---


def test_an_endpoint_validates_and_encodes_its_path_parameters():
    request = endpoints.GET_WORKSPACE.request(workspace_name="my-ws")
    assert (request.method, request.path, request.body, request.endpoint) == (
        "GET",
        "/api/v1/workspaces/my-ws",
        None,
        None,
    )
    with pytest.raises(InvalidParameterError, match="workspace_name"):
        endpoints.GET_WORKSPACE.request(workspace_name="../admin")


def test_an_endpoint_refuses_missing_or_unknown_path_parameters():
    with pytest.raises(InvalidParameterError, match=r"takes the path parameters \['workspace_name'\]"):
        endpoints.GET_WORKSPACE.request()
    with pytest.raises(InvalidParameterError, match="got \\['person_id', 'workspace_name'\\]"):
        endpoints.GET_WORKSPACE.request(workspace_name="my-ws", person_id="1")


def test_an_endpoint_declares_its_rate_limit_and_parser():
    request = endpoints.complete_upload_request("my-ws", "persons/thumbnails/a.jpg")
    assert request.endpoint == rate_limit.COMPLETE_UPLOAD
    completion = request.parse({"uploadStatus": "COMPLETED", "uploadMessage": None}, request.payload)
    assert completion == UploadCompletion("persons/thumbnails/a.jpg", "COMPLETED")


def test_the_query_is_part_of_the_signed_path_in_a_stable_order():
    endpoint = endpoints.Endpoint("GET", "/api/v1/workspaces/{workspace_name}/persons")
    request = endpoint.request(
        query={"pageSize": 50, "pageNum": 1, "name": "홍 길동", "tagIdList": [100, 200], "none": None},
        workspace_name="my-ws",
    )
    assert request.path == (
        "/api/v1/workspaces/my-ws/persons?name=%ED%99%8D%20%EA%B8%B8%EB%8F%99&pageNum=1&pageSize=50"
        "&tagIdList=100%2C200"
    )


# --- the escape hatch: custom_request ---


@pytest.mark.parametrize(
    ("method", "path", "limit"),
    [
        ("POST", "/api/v1/workspaces/ws-1/person-thumbnail/uploads/complete", rate_limit.COMPLETE_UPLOAD),
        ("post", "/api/v1/workspaces/ws-1/person-thumbnail/uploads/presigned-url", rate_limit.PRESIGNED_URL),
        ("GET", "/api/v1/workspaces/ws-1/persons", rate_limit.PERSONS),
        ("GET", "/api/v1/workspaces/ws-1/assets", None),  # not wrapped: no client-side limit
        ("GET", "/api/v1/workspaces/ws-1/person-thumbnail/uploads/complete", None),  # another method
    ],
)
def test_a_custom_request_counts_against_the_limit_of_the_endpoint_it_matches(method, path, limit):
    assert endpoints.custom_request(method, path).endpoint == limit


def test_a_custom_request_encodes_its_path_and_query_and_body():
    request = endpoints.custom_request(
        "PATCH", "/api/v1/workspaces/ws-1/persons/a b", json={"name": "홍길동"}, params={"x": 1}
    )
    assert request.path == "/api/v1/workspaces/ws-1/persons/a%20b?x=1"
    assert request.body == '{"name":"홍길동"}'.encode()
    assert request.headers("ak", "sk")["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("FETCH", "/api/v1/x", "method is 'FETCH'"),
        ("GET", "https://mi.apigw.ntruss.com/api/v1/x", "give an API path"),
        ("GET", "v1/workspaces", "give an API path"),
        ("GET", "/api/v1/workspaces?pageNum=1", "pass the query as params"),
        ("GET", "/api/v1/workspaces/../admin", "'..' segment"),
    ],
)
def test_a_bad_custom_request_is_refused(method, path, message):
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        endpoints.custom_request(method, path)
