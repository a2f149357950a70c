"""Validation of workspace names, thumbnail keys and file names, and the request paths built from them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_mi.core import endpoints
from airflow_provider_mi.core.validation import (
    MAX_FILE_NAME_LENGTH,
    MAX_THUMBNAIL_KEY_BYTES,
    validate_file_name,
    validate_poke_interval,
    validate_thumbnail_key,
    validate_workspace_name,
)
from airflow_provider_mi.exceptions import InvalidParameterError, MediaIntelligenceError

COMPLETE_PATH = "/api/v1/workspaces/{}/person-thumbnail/uploads/complete"
PRESIGNED_PATH = "/api/v1/workspaces/{}/person-thumbnail/uploads/presigned-url"


def raised(validator, value, **kwargs) -> str:
    """Call ``validator`` expecting an InvalidParameterError; return its message."""
    with pytest.raises(InvalidParameterError) as info:
        validator(value, **kwargs)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, MediaIntelligenceError)
    assert info.value.retryable is False
    return str(info.value)


# --- workspace names ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["abc", "a" * 63, "my-workspace", "0-9", "---", "ws-2024-01"])
def test_valid_workspace_names_are_returned_unchanged(name):
    assert validate_workspace_name(name) == name


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("my/ws", "'/'"),
        ("a/../b", "'/'"),
        ("..", "2 characters long"),
        ("...", "'.'"),
        ("%2e%2e", "'%'"),
        ("ws?x=1", "'?'"),
        ("ws#frag", "'#'"),
        ("my ws", "' '"),
        ("MyWorkspace", "'M'"),
        ("ab", "2 characters long"),
        ("a" * 64, "64 characters long"),
        ("wörk", "'ö'"),
    ],
)
def test_invalid_workspace_names_name_the_field_problem_and_rule(name, problem):
    message = raised(validate_workspace_name, name)
    assert message.startswith("workspace_name ")
    assert problem in message
    # the fix: the rule and an example
    assert "3 to 63 characters, only lowercase letters, digits and '-'" in message
    assert "'my-workspace'" in message


@pytest.mark.parametrize("name", ["my-ws\n", "\nmy-ws", "my\tws", "ws\x00ws"])
def test_workspace_name_with_control_character_says_remove_it(name):
    message = raised(validate_workspace_name, name)
    assert "workspace_name" in message
    assert "control character" in message
    assert "Remove it" in message


@pytest.mark.parametrize("name", ["", "   ", "\u3000"])
def test_blank_workspace_name(name):
    message = raised(validate_workspace_name, name)
    assert "workspace_name is empty" in message
    assert "Pass a non-blank value such as 'my-workspace'" in message


@pytest.mark.parametrize(("value", "type_name"), [(123, "int"), (None, "NoneType"), (b"abc", "bytes")])
def test_non_string_workspace_name(value, type_name):
    message = raised(validate_workspace_name, value)
    assert f"workspace_name must be a string, got {type_name}" in message
    assert "Pass text such as 'my-workspace'" in message


def test_workspace_error_names_the_given_field():
    message = raised(validate_workspace_name, "Bad", field="workspace_name extra")
    assert message.startswith("workspace_name extra 'Bad'")


# --- thumbnail keys -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "persons/thumbnails/face.jpg",
        "k",
        "a" * MAX_THUMBNAIL_KEY_BYTES,
        "가" * (MAX_THUMBNAIL_KEY_BYTES // 3),  # 1023 bytes
        "persons/thumbnails/얼굴 사진 (1).jpg",
        " leading and trailing spaces ",
    ],
)
def test_valid_thumbnail_keys_are_returned_unchanged(key):
    assert validate_thumbnail_key(key) == key


@pytest.mark.parametrize("key", ["", " ", "\t \u00a0"])
def test_blank_thumbnail_key(key):
    message = raised(validate_thumbnail_key, key)
    assert "thumbnail_key" in message
    assert "is empty" in message
    assert "'persons/thumbnails/face.jpg'" in message


@pytest.mark.parametrize(("key", "type_name"), [(42, "int"), (None, "NoneType"), (["a"], "list")])
def test_non_string_thumbnail_key(key, type_name):
    message = raised(validate_thumbnail_key, key)
    assert f"thumbnail_key must be a string, got {type_name}" in message
    assert "Pass text such as" in message


@pytest.mark.parametrize("key", ["persons/thumbnails/face.jpg\n", "a\rb", "a\x00b", "a\x7fb", "a\x85b"])
def test_thumbnail_key_with_control_character(key):
    message = raised(validate_thumbnail_key, key)
    assert "thumbnail_key" in message
    assert "control character" in message
    assert "Remove it" in message


@pytest.mark.parametrize(
    ("key", "size"),
    [("a" * (MAX_THUMBNAIL_KEY_BYTES + 1), 1025), ("가" * 342, 1026), ("é" * 513, 1026)],
)
def test_thumbnail_key_longer_than_1024_utf8_bytes(key, size):
    assert len(key) <= MAX_THUMBNAIL_KEY_BYTES + 1
    message = raised(validate_thumbnail_key, key)
    assert f"thumbnail_key is {size} bytes long" in message
    assert "at most 1024 bytes" in message
    assert "Pass the thumbnailKey returned" in message


def test_thumbnail_key_with_lone_surrogate_is_an_invalid_parameter():
    with pytest.raises(InvalidParameterError):
        validate_thumbnail_key("persons/thumbnails/\udcff.jpg")


# --- file names -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["face.jpg", "얼굴.png", ".hidden.webp", "a" * MAX_FILE_NAME_LENGTH, "a..b"])
def test_valid_file_names_are_returned_unchanged(name):
    assert validate_file_name(name) == name


@pytest.mark.parametrize("name", ["dir/face.jpg", "/face.jpg", "dir\\face.jpg", ".", "..", "../face.jpg"])
def test_file_name_with_directory_part(name):
    message = raised(validate_file_name, name)
    assert f"file_name {name!r} is not a plain file name" in message
    assert "Pass only the last part, e.g. 'face.jpg'" in message


def test_file_name_too_long():
    message = raised(validate_file_name, "a" * (MAX_FILE_NAME_LENGTH + 1))
    assert "file_name is 256 characters long" in message
    assert "use at most 255 characters" in message


@pytest.mark.parametrize(
    ("name", "fragment"),
    [("", "is empty"), (None, "must be a string"), ("face\n.jpg", "control character"), (7, "got int")],
)
def test_file_name_blank_non_string_or_control(name, fragment):
    message = raised(validate_file_name, name)
    assert "file_name" in message
    assert fragment in message


def test_file_name_with_lone_surrogate_is_an_invalid_parameter():
    with pytest.raises(InvalidParameterError):
        endpoints.presigned_url_request("my-workspace", "face\udcff.jpg")


# --- request building -----------------------------------------------------------------------------

_valid_workspaces = st.from_regex(r"[a-z0-9-]{3,63}", fullmatch=True)
_valid_keys = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc",)), min_size=1, max_size=400
).filter(lambda key: key.strip() and len(key.encode()) <= MAX_THUMBNAIL_KEY_BYTES)


@settings(max_examples=300, deadline=None)
@given(workspace=_valid_workspaces, key=_valid_keys)
def test_complete_request_path_is_fixed_and_body_round_trips(workspace, key):
    request = endpoints.complete_upload_request(workspace, key)
    assert request.method == "POST"
    assert request.path == COMPLETE_PATH.format(workspace)
    assert json.loads(request.body) == {"thumbnailKey": key}
    assert request.url("https://mi.apigw.ntruss.com/") == "https://mi.apigw.ntruss.com" + request.path


@settings(max_examples=300, deadline=None)
@given(workspace=st.text(max_size=70))
def test_no_workspace_value_can_change_the_request_path(workspace):
    """Either the value is refused, or it is exactly the workspace segment of the fixed path."""
    try:
        request = endpoints.complete_upload_request(workspace, "persons/thumbnails/face.jpg")
    except InvalidParameterError:
        return
    assert request.path == COMPLETE_PATH.format(workspace)
    assert request.path.split("/")[4] == workspace
    assert request.path.count("/") == 7


@settings(max_examples=100, deadline=None)
@given(workspace=_valid_workspaces)
def test_presigned_request_path_and_body(workspace):
    request = endpoints.presigned_url_request(workspace, "얼굴.jpg")
    assert (request.method, request.path) == ("POST", PRESIGNED_PATH.format(workspace))
    assert json.loads(request.body) == {"thumbnailFileName": "얼굴.jpg"}


def test_requests_validate_before_building():
    with pytest.raises(InvalidParameterError, match="workspace_name"):
        endpoints.complete_upload_request("../admin", "persons/thumbnails/face.jpg")
    with pytest.raises(InvalidParameterError, match="thumbnail_key"):
        endpoints.complete_upload_request("my-workspace", "")
    with pytest.raises(InvalidParameterError, match="file_name"):
        endpoints.presigned_url_request("my-workspace", "../face.jpg")


@pytest.mark.parametrize("value", [5, 0.5, timedelta(seconds=2)])
def test_poke_interval_accepted(value):
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    assert validate_poke_interval(value) == seconds


@pytest.mark.parametrize("value", [0, -1, float("nan"), float("inf"), True, "5", None, timedelta(0)])
def test_poke_interval_refused(value):
    with pytest.raises(InvalidParameterError, match="poke_interval must be a positive number of seconds"):
        validate_poke_interval(value)
