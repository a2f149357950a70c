"""Images from object storage through real Airflow: moto's S3 server behind AWS connections."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_cli import run_dag
from airflow_provider_mi.emulator import MediaIntelligenceEmulator
from airflow_provider_mi.emulator.faces import face_image
from helpers import return_values, task_states, try_numbers
from object_storage import S3Server, free_port, s3_server

DAGS = Path(__file__).parent / "dags"
WORKSPACE = "e2e-storage"


@pytest.fixture(scope="module")
def storage_env() -> Iterator[dict[str, str]]:
    """An S3 server holding two people's photos, a locked one, and an endpoint nobody answers."""
    with s3_server() as s3, s3_server(locked=True) as locked:
        s3.put(
            "photos",
            {
                f"people/{name}/{n}.jpg": face_image(61 + i, n)
                for i, name in enumerate(["Ada", "Bob"])
                for n in range(2)
            },
        )
        s3.put("manifests", {})
        unreachable = S3Server(f"http://127.0.0.1:{free_port()}")
        yield {
            "AIRFLOW_CONN_NCP_OBJECT_STORAGE": s3.connection(),
            "AIRFLOW_CONN_LOCKED_OBJECT_STORAGE": locked.connection(),
            "AIRFLOW_CONN_UNREACHABLE_OBJECT_STORAGE": unreachable.connection(
                config_kwargs={"connect_timeout": 1, "retries": {"max_attempts": 1}}
            ),
        }


def test_a_prefix_a_glob_a_url_and_a_sync_read_from_object_storage(airflow_home, storage_env):
    with MediaIntelligenceEmulator() as emulator:
        result = run_dag(DAGS, "mi_e2e_storage", {**emulator.airflow_env(), **storage_env})
        assert result.succeeded, result.output[-6000:]
        persons = {person.name: len(person.thumbnails) for person in emulator.state.persons(WORKSPACE)}
    values = return_values(airflow_home, "mi_e2e_storage")
    assert (values["bulk_prefix"]["completed"], values["bulk_glob"]["completed"]) == (2, 2)
    assert values["upload_one"]["uploadStatus"] == "COMPLETED"
    assert values["sync"]["created"] == 2 and values["sync"]["manifest"] == "s3://manifests/people.json"
    assert persons == {"Ada": 2, "Bob": 2}


#: Each refused task, and what its failure says.
REFUSED = {
    "missing_object": "file_path 's3://photos/people/Zed.jpg' cannot be read: it does not exist",
    "unreadable_bucket": "sources 's3://photos/people' cannot be listed: access is denied",
    "wrong_endpoint": "sources 's3://photos/people/*.jpg' cannot be listed: EndpointConnectionError",
    "sync_missing_bucket": "source 's3://no-such-bucket/people' holds no file: it is empty, or it",
}


def test_what_storage_refuses_fails_clearly_before_any_request_and_without_retries(airflow_home, storage_env):
    with MediaIntelligenceEmulator() as emulator:
        result = run_dag(DAGS, "mi_e2e_storage_refused", {**emulator.airflow_env(), **storage_env})
    assert emulator.state.requests == [], "nothing may reach the API"
    states = task_states(airflow_home, "mi_e2e_storage_refused")
    tries = try_numbers(airflow_home, "mi_e2e_storage_refused")
    for task_id, message in REFUSED.items():
        assert (states[task_id], tries[task_id]) == ("failed", 1), task_id
        assert message in result.output, task_id
