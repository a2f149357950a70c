"""
No secret lands anywhere: a DAG run through ``airflow dags test`` in an Airflow home of its own,
then every byte of every file in that home (logs, the sqlite database, ...) and everything the
run printed are searched for the secret keys and for every signature the emulator received.

The connections' secrets are unique random strings, so finding one can only mean a leak.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from airflow_cli import migrate_db, run_dag
from airflow_provider_mi.core.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER
from airflow_provider_mi.emulator import MediaIntelligenceEmulator, faults
from helpers import png, return_values, task_states

DAGS = Path(__file__).parent / "secret_dags"
WORKSPACE = "secrets-workspace"
ACCESS_KEY = "secrets-access-key"
SECRET = f"mi-secret-{secrets.token_hex(16)}"
WRONG_SECRET = f"mi-wrong-secret-{secrets.token_hex(16)}"


@pytest.fixture(scope="module")
def secret_run(tmp_path_factory):
    """Run ``mi_secrets`` once in a fresh Airflow home; return the run, the home and the emulator."""
    home = tmp_path_factory.mktemp("secrets-airflow-home")
    env = {"AIRFLOW_HOME": str(home)}
    migrate_db(env)
    image = tmp_path_factory.mktemp("secrets-images") / "face.png"
    image.write_bytes(png(300, 300))
    with MediaIntelligenceEmulator(credentials={ACCESS_KEY: SECRET}, visibility_delay=1.0) as emulator:
        state = emulator.state
        state.store_thumbnail(WORKSPACE, "secrets/after-faults.png", png(300, 300), delay=0)
        state.inject(
            "complete", faults.http_error(503, "0"), faults.reset(), thumbnail_key="secrets/after-faults.png"
        )
        state.inject(
            "complete",
            faults.PASS,
            faults.http_error(401),
            thumbnail_key="secrets/rejected-while-deferred.png",
        )
        conn = json.loads(emulator.connection_json())
        env["AIRFLOW_CONN_NCP_MI_DEFAULT"] = json.dumps(conn)
        env["AIRFLOW_CONN_MI_WRONG_SECRET"] = json.dumps({**conn, "password": WRONG_SECRET})
        result = run_dag(DAGS, "mi_secrets", env=env, conf={"image": str(image)}, timeout=240)
    return result, home, emulator


def needles(emulator: MediaIntelligenceEmulator) -> dict[str, bytes]:
    """
    What must never appear: both secret keys, every signature sent, the signed headers' names and
    the token of every presigned upload URL (which authorises the upload by itself).
    """
    found = {
        "secret key": SECRET,
        "wrong secret key": WRONG_SECRET,
        "signature header": SIGNATURE_HEADER,
        "timestamp header": TIMESTAMP_HEADER,
    }
    for entry in emulator.state.requests:
        if entry.signature:
            found[f"signature {entry.signature}"] = entry.signature
        if entry.endpoint == "storage":
            token = entry.path.rsplit("/", 1)[1]
            found[f"upload URL token {token}"] = token
    return {name: value.encode() for name, value in found.items()}


def test_the_run_used_the_credentials_in_every_way(secret_run) -> None:
    result, home, emulator = secret_run
    assert task_states(home, "mi_secrets") == {
        "upload": "success",
        "wait_deferred": "success",
        "wait_poke": "success",
        "after_faults": "success",
        "wrong_secret": "failed",
        "wrong_secret_deferrable": "failed",
        "rejected_while_deferred": "failed",
    }
    assert return_values(home, "mi_secrets")["wait_deferred"] == {
        "uploadStatus": "COMPLETED",
        "uploadMessage": None,
    }
    signatures = [entry.signature for entry in emulator.state.requests if entry.endpoint != "storage"]
    assert len(signatures) >= 10
    assert all(signatures)
    assert [entry.status for entry in emulator.state.requests_to("storage")] == [200]
    statuses = [entry.status for entry in emulator.state.requests]
    assert statuses.count(401) == 3  # two with the wrong secret, one while deferred
    # The errors were logged, so searching the logs means something.
    assert "Signature is invalid" in result.output
    assert "Attempt 1 of 5 failed" in result.output
    assert "Sensor has timed out" not in result.output


def test_no_secret_in_any_file_of_the_airflow_home(secret_run) -> None:
    _, home, emulator = secret_run
    files = [path for path in home.rglob("*") if path.is_file()]
    contents = {path: path.read_bytes() for path in files}
    assert home / "airflow.db" in contents
    # The search reads what the run stored: the uploaded key is in the database (XCom, rendered fields).
    uploaded_key = return_values(home, "mi_secrets")["upload"]["thumbnailKey"]
    assert uploaded_key.encode() in contents[home / "airflow.db"]

    leaks = [
        (name, str(path))
        for path, data in contents.items()
        for name, value in needles(emulator).items()
        if value in data
    ]
    assert leaks == []


def test_no_secret_in_what_the_run_printed(secret_run) -> None:
    result, _, emulator = secret_run
    output = result.output.encode()
    assert [name for name, value in needles(emulator).items() if value in output] == []
