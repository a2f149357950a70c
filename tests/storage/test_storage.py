"""Object storage as the operators read it: a real S3-compatible server (moto) behind an AWS connection."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow.providers.common.compat.sdk import ObjectStoragePath

from airflow_provider_mi import storage
from airflow_provider_mi.exceptions import InvalidParameterError
from object_storage import S3Server, free_port, s3_server

IMAGES = {"faces/a.jpg": b"a", "faces/b.png": b"b", "faces/notes.txt": b"n", "faces/sub/c.jpg": b"c"}


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with s3_server() as server:
        server.put("bucket", IMAGES)
        yield server


@pytest.fixture(scope="module")
def locked() -> Iterator[S3Server]:
    with s3_server(locked=True) as server:
        yield server


@pytest.fixture(autouse=True)
def connections(monkeypatch, s3, locked):
    monkeypatch.setenv("AIRFLOW_CONN_S3_TEST", s3.connection())
    monkeypatch.setenv("AIRFLOW_CONN_S3_LOCKED", locked.connection())
    monkeypatch.setenv(
        "AIRFLOW_CONN_S3_NOWHERE",
        S3Server(f"http://127.0.0.1:{free_port()}").connection(
            config_kwargs={"connect_timeout": 1, "retries": {"max_attempts": 1}}
        ),
    )


def names(found) -> list[str]:
    return [storage.display(location) for location in found]


def test_text_without_a_scheme_and_file_urls_stay_local(tmp_path):
    assert storage.resolve(str(tmp_path), "f") == tmp_path
    assert storage.resolve(f"file://{tmp_path}", "f") == tmp_path
    assert isinstance(storage.resolve("s3://bucket/faces/a.jpg", "f", "s3_test"), ObjectStoragePath)
    with pytest.raises(InvalidParameterError, match="file_path is ''; give a local path"):
        storage.resolve("", "file_path")


def test_a_prefix_lists_its_images_and_a_glob_matches_as_given():
    assert names(storage.find_images("s3://bucket/faces/", "s3_test")) == [
        "s3://bucket/faces/a.jpg",
        "s3://bucket/faces/b.png",
    ]
    assert names(
        storage.find_images(["s3://bucket/faces/*.jpg", "s3://bucket/faces/**/c.jpg"], "s3_test")
    ) == [
        "s3://bucket/faces/a.jpg",
        "s3://bucket/faces/sub/c.jpg",
    ]
    assert names(storage.find_images("s3://bucket/faces/nothing-*.jpg", "s3_test")) == []


def test_an_object_storage_path_keeps_its_own_connection():
    [found] = storage.find_images(ObjectStoragePath("s3://bucket/faces/a.jpg", conn_id="s3_test"))
    assert storage.read_bytes(found) == b"a"
    assert storage.fingerprint(found).startswith("etag:")


@pytest.mark.parametrize(
    ("source", "conn_id", "message"),
    [
        ("s3://bucket/faces/missing.jpg", "s3_test", "it does not exist"),
        ("s3://no-such-bucket/faces/", "s3_test", "it does not exist"),
        ("s3://bucket/faces/", "s3_locked", "access is denied"),
        ("s3://bucket/faces/", "s3_nowhere", "EndpointConnectionError"),
    ],
)
def test_what_cannot_be_listed_says_why_and_what_to_check(source, conn_id, message):
    shown = source.rstrip("/")
    with pytest.raises(InvalidParameterError, match=rf"sources '{shown}' cannot be listed: .*{message}"):
        storage.find_images(source, conn_id)


def test_a_tree_is_listed_in_one_request_with_fingerprints():
    tree = storage.list_tree(storage.resolve("s3://bucket/faces", "source", "s3_test"), "source")
    assert sorted(tree) == ["", "sub"]
    [(location, info)] = tree["sub"]
    assert storage.display(location) == "s3://bucket/faces/sub/c.jpg" and info["ETag"]


def test_json_goes_to_object_storage_whole_and_comes_back(tmp_path):
    remote = storage.resolve("s3://bucket/manifests/m.json", "manifest_path", "s3_test")
    storage.check_writable(remote, "manifest_path")
    storage.save_json(remote, {"a": 1})
    assert json.loads(remote.read_text()) == {"a": 1}
    with pytest.raises(InvalidParameterError, match=r"manifest_path .s3://nope/m.json. cannot be written"):
        storage.check_writable(
            storage.resolve("s3://nope/m.json", "manifest_path", "s3_test"), "manifest_path"
        )
    local = Path(tmp_path / "m.json")
    storage.save_json(local, {"b": 2})
    assert json.loads(local.read_text()) == {"b": 2}
