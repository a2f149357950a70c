"""The connection read from each place Airflow keeps connections: env JSON, env URI, a secrets backend."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest

from airflow_cli import run_airflow
from airflow_provider_mi.emulator import MediaIntelligenceEmulator

ENABLED = {"AIRFLOW__CORE__TEST_CONNECTION": "Enabled"}


def connections_test(env: dict[str, str]) -> str:
    process = run_airflow(["connections", "test", "ncp_mi_default"], {**ENABLED, **env})
    return process.stdout + process.stderr


@pytest.fixture
def emulator(airflow_home: Path, monkeypatch: pytest.MonkeyPatch):
    """An emulator with no connection in the environment: each test says where the connection is."""
    monkeypatch.delenv("AIRFLOW_CONN_NCP_MI_DEFAULT", raising=False)
    with MediaIntelligenceEmulator() as running:
        yield running


def test_json_in_the_environment(emulator: MediaIntelligenceEmulator) -> None:
    output = connections_test({"AIRFLOW_CONN_NCP_MI_DEFAULT": emulator.connection_json()})
    assert "Connection success!" in output
    assert [entry.status for entry in emulator.state.requests] == [200]


def test_uri_in_the_environment(emulator: MediaIntelligenceEmulator) -> None:
    secret = quote(emulator.state.credentials[emulator.access_key], safe="")
    port = emulator.url.rsplit(":", 1)[1]
    uri = (
        f"ncp-media-intelligence://{emulator.access_key}:{secret}@127.0.0.1:{port}/http?workspace_name=uri-ws"
    )
    output = connections_test({"AIRFLOW_CONN_NCP_MI_DEFAULT": uri})
    assert "Connection success!" in output
    assert [entry.path for entry in emulator.state.requests] == ["/api/v1/workspaces/uri-ws"], (
        "the workspace_name extra came from the URI's query"
    )


def test_secrets_backend(emulator: MediaIntelligenceEmulator, tmp_path: Path) -> None:
    connections = tmp_path / "connections.json"
    connections.write_text(json.dumps({"ncp_mi_default": json.loads(emulator.connection_json())}))
    backend = {
        "AIRFLOW__SECRETS__BACKEND": "airflow.secrets.local_filesystem.LocalFilesystemBackend",
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({"connections_file_path": str(connections)}),
    }
    output = connections_test(backend)
    assert "Connection success!" in output
    assert [entry.status for entry in emulator.state.requests] == [200]
