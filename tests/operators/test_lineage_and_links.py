"""The workspace link, the OpenLineage datasets and the asset events' extra of the operators."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import Asset

from airflow_provider_mi import lineage, links
from airflow_provider_mi.emulator import MediaIntelligenceEmulator
from airflow_provider_mi.exceptions import MediaIntelligenceApiError
from airflow_provider_mi.get_provider_info import WORKSPACE_LINK_CLASS, get_provider_info
from airflow_provider_mi.operators.bulk_upload import MediaIntelligenceBulkUploadPersonThumbnailsOperator
from airflow_provider_mi.operators.person_sync import MediaIntelligenceSyncPersonsOperator
from airflow_provider_mi.operators.person_thumbnail import (
    MediaIntelligenceCompletePersonThumbnailUploadOperator,
    MediaIntelligenceUploadPersonThumbnailOperator,
)
from airflow_provider_mi.operators.persons import (
    MediaIntelligenceAddPersonThumbnailsOperator,
    MediaIntelligenceDeletePersonOperator,
    MediaIntelligenceMergePersonsOperator,
    MediaIntelligenceRegisterPersonOperator,
    MediaIntelligenceRemovePersonThumbnailsOperator,
)

E2E_DAGS = Path(__file__).parents[1] / "e2e" / "dags"


# --- the link ---------------------------------------------------------------------------------


def test_the_link_reads_the_url_the_task_kept(monkeypatch):
    asked = []

    def get_value(*, ti_key: Any, key: str) -> Any:
        asked.append((ti_key, key))
        return {"ti-1": "https://console.example/ws"}.get(ti_key)

    monkeypatch.setattr(links.XCom, "get_value", staticmethod(get_value))
    link = links.MediaIntelligenceWorkspaceLink()
    assert link.name == "MI Workspace"
    assert link.get_link(None, ti_key="ti-1") == "https://console.example/ws"
    assert link.get_link(None, ti_key="ti-2") == ""  # a task that did not get that far
    assert asked == [("ti-1", "mi_workspace_url"), ("ti-2", "mi_workspace_url")]


def test_the_link_is_registered_and_on_every_operator():
    assert get_provider_info()["extra-links"] == [WORKSPACE_LINK_CLASS]
    module, name = WORKSPACE_LINK_CLASS.rsplit(".", 1)
    assert f"{links.__name__}.{links.MediaIntelligenceWorkspaceLink.__name__}" == f"{module}.{name}"
    operator = MediaIntelligenceCompletePersonThumbnailUploadOperator(task_id="c", thumbnail_key="k")
    assert [type(link) for link in operator.operator_extra_links] == [links.MediaIntelligenceWorkspaceLink]


def test_parsing_and_serializing_a_dag_sends_nothing(mi_emulator: MediaIntelligenceEmulator):
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2
        from airflow.models.dagbag import DagBag
    try:
        from airflow.serialization.serialized_objects import DagSerialization as serializer
    except ImportError:  # Airflow 2
        from airflow.serialization.serialized_objects import SerializedDAG as serializer

    bag = DagBag(str(E2E_DAGS / "mi_e2e_lineage_dags.py"))
    assert not bag.import_errors
    dag = bag.dags["mi_e2e_lineage"]
    serialized = serializer.to_dict(dag)
    back = serializer.from_dict(serialized)
    for task in back.tasks:
        names = [getattr(link, "name", None) for link in task.operator_extra_links]
        assert "MI Workspace" in names, (task.task_id, names)
    assert mi_emulator.state.requests == [], "parsing must send no request"


def run_post_execute(operator: Any, result: Any, outlets: list[Any]) -> tuple[dict[str, Any], dict]:
    """Run ``post_execute`` with a stand-in context; return the XComs pushed and the events' extra."""
    pushed: dict[str, Any] = {}
    events: dict[Any, SimpleNamespace] = {outlet: SimpleNamespace(extra={}) for outlet in outlets}
    ti = SimpleNamespace(xcom_push=lambda key, value, **_: pushed.__setitem__(key, value))
    operator._mi_result = result
    operator.post_execute({"ti": ti, "outlet_events": events}, None)
    pushed.pop("pipeline_outlets", None)  # Airflow 2's own lineage
    return pushed, {outlet: event.extra for outlet, event in events.items()}


def test_post_execute_reads_the_workspace_once_and_describes_the_outlets(mi_emulator):
    asset = Asset("ncp-mi://ws-link/person-thumbnails")
    operator = MediaIntelligenceUploadPersonThumbnailOperator(
        task_id="upload", workspace_name="ws-link", data=b"x", file_name="a.png", outlets=[asset]
    )
    result = {"thumbnailKey": "key-1", "uploadStatus": "COMPLETED", "uploadMessage": None}
    pushed, extras = run_post_execute(operator, result, [asset])
    assert [(entry.method, entry.endpoint) for entry in mi_emulator.state.requests] == [("GET", "workspace")]
    assert pushed == {"mi_workspace_url": f"{mi_emulator.url}/_emulator/workspaces/ws-link"}
    assert extras[asset] == {"workspace": "ws-link", "thumbnailKeys": ["key-1"], "uploadStatus": "COMPLETED"}


def test_a_workspace_that_cannot_be_read_costs_the_link_only(mi_emulator, monkeypatch):
    operator = MediaIntelligenceDeletePersonOperator(
        task_id="delete", workspace_name="no-such-workspace", person_id=1
    )

    def refuse(workspace: str) -> None:
        raise MediaIntelligenceApiError(404, "10001", "no such workspace")

    monkeypatch.setattr(operator.hook, "get_workspace", refuse)
    pushed, _ = run_post_execute(operator, {"personId": "1", "deleted": True, "name": None}, [])
    assert pushed == {}  # and no error: the task stands


# --- OpenLineage ------------------------------------------------------------------------------


def names(datasets: list[Any]) -> list[tuple[str, str]]:
    return [(dataset.namespace, dataset.name) for dataset in datasets]


@pytest.fixture
def namespace(mi_emulator: MediaIntelligenceEmulator) -> str:
    return "ncp-media-intelligence://" + mi_emulator.url.split("://", 1)[1]


def test_upload_lineage_reads_the_file_and_writes_the_thumbnails(namespace, tmp_path):
    pytest.importorskip("airflow.providers.openlineage")
    photo = tmp_path / "face.jpg"
    operator = MediaIntelligenceUploadPersonThumbnailOperator(
        task_id="upload", workspace_name="ws-ol", file_path=str(photo)
    )
    facets = operator.get_openlineage_facets_on_complete(None)
    assert names(facets.inputs) == [(f"file://{lineage.hostname()}", str(photo))]
    assert names(facets.outputs) == [(namespace, "ws-ol/person-thumbnails")]


def test_bulk_and_sync_lineage_name_their_sources(namespace, tmp_path):
    pytest.importorskip("airflow.providers.openlineage")
    host = f"file://{lineage.hostname()}"
    bulk = MediaIntelligenceBulkUploadPersonThumbnailsOperator(
        task_id="bulk",
        workspace_name="ws-ol",
        sources=[str(tmp_path), f"{tmp_path}/more/*.jpg", "s3://b/k.jpg"],
    )
    facets = bulk.get_openlineage_facets_on_complete(None)
    assert names(facets.inputs) == [(host, str(tmp_path)), (host, f"{tmp_path}/more"), ("s3://b", "k.jpg")]
    assert names(facets.outputs) == [(namespace, "ws-ol/person-thumbnails")]
    sync = MediaIntelligenceSyncPersonsOperator(
        task_id="sync", workspace_name="ws-ol", source=str(tmp_path), manifest_path="/m.json"
    )
    facets = sync.get_openlineage_facets_on_complete(None)
    assert names(facets.inputs) == [(host, str(tmp_path))]
    assert names(facets.outputs) == [(namespace, "ws-ol/persons"), (namespace, "ws-ol/person-thumbnails")]


def test_person_operators_lineage(namespace):
    pytest.importorskip("airflow.providers.openlineage")
    register = MediaIntelligenceRegisterPersonOperator(
        task_id="r", workspace_name="ws-p", thumbnail_keys=["k"]
    )
    facets = register.get_openlineage_facets_on_complete(None)
    assert names(facets.inputs) == [(namespace, "ws-p/person-thumbnails")]
    assert names(facets.outputs) == [(namespace, "ws-p/persons")]
    delete = MediaIntelligenceDeletePersonOperator(task_id="d", workspace_name="ws-p", person_id=1)
    facets = delete.get_openlineage_facets_on_complete(None)
    assert (facets.inputs, names(facets.outputs)) == ([], [(namespace, "ws-p/persons")])


# --- the asset events' extra ------------------------------------------------------------------


def test_each_operator_puts_keys_or_person_ids_in_its_extra():
    complete = MediaIntelligenceCompletePersonThumbnailUploadOperator(task_id="c", thumbnail_key="k1")
    assert complete.asset_event_extra({"uploadStatus": "COMPLETED"}) == {
        "thumbnailKeys": ["k1"],
        "uploadStatus": "COMPLETED",
    }
    register = MediaIntelligenceRegisterPersonOperator(task_id="r", thumbnail_keys=["k"])
    assert register.asset_event_extra({"personId": "7", "action": "created"}) == {
        "personIds": ["7"],
        "action": "created",
    }
    add = MediaIntelligenceAddPersonThumbnailsOperator(task_id="a", person_id=7, thumbnail_keys=["k"])
    assert add.asset_event_extra({"personId": "7", "action": "attached", "added": ["k"]})[
        "thumbnailKeys"
    ] == ["k"]
    remove = MediaIntelligenceRemovePersonThumbnailsOperator(task_id="x", person_id=7, thumbnail_ids=[3])
    assert remove.asset_event_extra({"personId": "7", "removed": ["3"]}) == {
        "personIds": ["7"],
        "removedThumbnailIds": ["3"],
    }
    merge = MediaIntelligenceMergePersonsOperator(task_id="m", person_id=7, merged_person_ids=[8])
    merged = {"personId": "7", "merged": True, "mergedPersons": [{"personId": "8"}]}
    assert merge.asset_event_extra(merged) == {"personIds": ["7"], "mergedPersonIds": ["8"], "merged": True}


def test_bulk_and_sync_extra_stay_small_whatever_the_batch():
    bulk = MediaIntelligenceBulkUploadPersonThumbnailsOperator(task_id="b", sources="/x")
    bulk._uploaded_keys = [f"k{number}" for number in range(250)]
    extra = bulk.asset_event_extra({"files": 260, "completed": 240, "waiting": 10, "failed": 10})
    assert (extra["files"], extra["completed"], extra["waiting"], extra["failed"]) == (260, 240, 10, 10)
    assert extra["thumbnailKeys"] == [f"k{number}" for number in range(lineage.MAX_EXTRA_ITEMS)]
    assert extra["thumbnailKeysTotal"] == 250
    sync = MediaIntelligenceSyncPersonsOperator(task_id="s", source="/x", manifest_path="/m.json")
    result = {"persons": 3, "created": 2, "attached": 0, "unchanged": 1, "failed": 0, "changed": {"A": "1"}}
    assert sync.asset_event_extra(result) == {**{k: v for k, v in result.items()}, "changed": {"A": "1"}}
