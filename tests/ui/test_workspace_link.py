"""
The *MI Workspace* extra link in the running Airflow UI server: a task run against the emulator
keeps its workspace's URL, and the server (Airflow 3's API server, Airflow 2.11's webserver) lists
the link with that URL, through its REST API and on the task instance's page in Chromium.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest

from airflow_cli import run_airflow
from airflow_provider_mi.emulator import MediaIntelligenceEmulator
from airflow_provider_mi.emulator.faces import face_image
from airflow_ui import UiServer

pytestmark = pytest.mark.timeout(300)

DAG_ID = "mi_ui_workspace_link"
WORKSPACE = "ui-link-workspace"
DAG_FILE = f'''
from datetime import datetime

from airflow.providers.common.compat.sdk import DAG

from airflow_provider_mi.operators.person_thumbnail import MediaIntelligenceUploadPersonThumbnailOperator

with DAG(dag_id="{DAG_ID}", schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    MediaIntelligenceUploadPersonThumbnailOperator(
        task_id="upload", workspace_name="{WORKSPACE}", file_path="{{{{ dag_run.conf['photo'] }}}}"
    )
'''


@pytest.fixture(scope="module")
def linked_run(airflow_ui: UiServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Run the DAG once on the UI server's database; yield its run id and the workspace URL."""
    photo = tmp_path_factory.mktemp("ui-link") / "face.jpg"
    photo.write_bytes(face_image(61, 0))
    (airflow_ui.home / "dags" / "mi_ui_link_dag.py").write_text(DAG_FILE)
    with MediaIntelligenceEmulator() as emulator:
        env = {**airflow_ui.env, **emulator.airflow_env()}
        parsed = run_airflow(["dags", "reserialize"], env, timeout=180)
        assert parsed.returncode == 0, parsed.stderr[-4000:]
        assert emulator.state.requests == [], "parsing the DAG sent requests"
        tested = run_airflow(
            ["dags", "test", DAG_ID, "-c", json.dumps({"photo": str(photo)})], env, timeout=180
        )
        assert tested.returncode == 0, (tested.stdout + tested.stderr)[-6000:]
        assert len(emulator.state.requests_to("workspace")) == 1
        url = f"{emulator.url}/_emulator/workspaces/{WORKSPACE}"
    with closing(sqlite3.connect(airflow_ui.home / "airflow.db")) as db:
        (run_id,) = db.execute("SELECT run_id FROM dag_run WHERE dag_id = ?", (DAG_ID,)).fetchone()
    yield run_id, url


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.loads(answer.read())


def test_the_rest_api_lists_the_workspace_link(airflow_ui: UiServer, linked_run: tuple[str, str]):
    run_id, url = linked_run
    version = "v2" if airflow_ui.major >= 3 else "v1"
    path = f"/api/{version}/dags/{DAG_ID}/dagRuns/{urllib.parse.quote(run_id)}/taskInstances/upload/links"
    links = get_json(airflow_ui.url + path)
    # Airflow 3: {"extra_links": {...}, "total_entries": n}; Airflow 2.11: {name: url}.
    assert links.get("extra_links", links) == {"MI Workspace": url}


def test_the_task_page_shows_the_workspace_link(
    airflow_ui: UiServer, linked_run: tuple[str, str], page: Any, screenshot: Any
):
    run_id, url = linked_run
    if airflow_ui.major >= 3:
        page.goto(f"{airflow_ui.url}/dags/{DAG_ID}/runs/{urllib.parse.quote(run_id)}/tasks/upload/details")
    else:
        query = urllib.parse.urlencode({"dag_run_id": run_id, "task_id": "upload", "tab": "details"})
        page.goto(f"{airflow_ui.url}/dags/{DAG_ID}/grid?{query}")
    link = page.get_by_role("link", name="MI Workspace")
    link.first.wait_for()
    assert link.first.get_attribute("href") == url
    screenshot(page, f"airflow-{airflow_ui.major}-workspace-link")
