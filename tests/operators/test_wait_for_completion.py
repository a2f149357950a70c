"""``wait_for_completion`` of the upload operators, in the task and deferred, against the emulator."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException, TaskDeferred
from PIL import Image

from airflow_provider_mi.emulator import DEFAULT_SECRET_KEY, Fault
from airflow_provider_mi.exceptions import InvalidParameterError
from airflow_provider_mi.operators.bulk_upload import MediaIntelligenceBulkUploadPersonThumbnailsOperator
from airflow_provider_mi.operators.person_thumbnail import MediaIntelligenceUploadPersonThumbnailOperator
from airflow_provider_mi.triggers.person_thumbnail import MediaIntelligencePersonThumbnailUploadTrigger

WORKSPACE = "wait-workspace"
FAST = {"poll_interval": 0.1, "timeout": 20}


def image(size: int = 300) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), "teal").save(buffer, "PNG", compress_level=0)
    return buffer.getvalue()


def refused_later(emulator, uploads: int) -> None:
    """The first completion check after ``uploads`` uploads' own checks answers OVER_SIZE_LIMIT."""
    body = {
        "code": "0",
        "message": "success",
        "result": {"uploadStatus": "FAILED", "uploadMessage": "OVER_SIZE_LIMIT"},
    }
    emulator.state.inject("complete", *[Fault(None)] * uploads, Fault(200, json.dumps(body).encode()))


def single(**kwargs) -> MediaIntelligenceUploadPersonThumbnailOperator:
    kwargs.setdefault("workspace_name", WORKSPACE)
    kwargs.setdefault("data", image())
    kwargs.setdefault("file_name", "face.png")
    return MediaIntelligenceUploadPersonThumbnailOperator(task_id="upload", **kwargs)


def bulk(sources, **kwargs) -> MediaIntelligenceBulkUploadPersonThumbnailsOperator:
    kwargs.setdefault("workspace_name", WORKSPACE)
    return MediaIntelligenceBulkUploadPersonThumbnailsOperator(task_id="bulk", sources=sources, **kwargs)


def fire(trigger: MediaIntelligencePersonThumbnailUploadTrigger) -> dict:
    """Run the trigger to its one event, as the triggerer would after a JSON round trip."""
    _, kwargs = trigger.serialize()
    rebuilt = MediaIntelligencePersonThumbnailUploadTrigger(**json.loads(json.dumps(kwargs)))

    async def collect() -> list[dict]:
        return [event.payload async for event in rebuilt.run()]

    [event] = asyncio.run(asyncio.wait_for(collect(), timeout=30))
    return json.loads(json.dumps(event))


def deferred(operator, context=None) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as deferral:
        operator.execute(context={} if context is None else context)
    return deferral.value


@pytest.fixture
def late(mi_emulator):
    """Uploads become visible to completion 0.5 s after they land."""
    mi_emulator.state.visibility_delay = 0.5
    return mi_emulator


@pytest.fixture
def folder(tmp_path):
    faces = tmp_path / "faces"
    faces.mkdir()
    for number in range(4):
        (faces / f"face-{number}.png").write_bytes(image())
    return faces


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"poll_interval": 0},
            "poll_interval must be a positive number of seconds, got 0. E.g. poll_interval=5",
        ),
        ({"poll_interval": -1}, "poll_interval must be a positive number"),
        ({"poll_interval": "5"}, "poll_interval must be a positive number"),
        ({"timeout": 0}, "timeout must be a positive number of seconds, got 0. E.g. timeout=600"),
        ({"timeout": float("inf")}, "timeout must be a positive number"),
        ({"timeout": None}, "timeout must be a positive number"),
        ({"wait_for_completion": "yes"}, "wait_for_completion must be True or False, got 'yes'"),
        ({"deferrable": 1}, "deferrable must be True or False, got 1"),
    ],
)
@pytest.mark.parametrize("make", [single, lambda **kwargs: bulk("/nowhere/*.png", **kwargs)])
def test_bad_values_are_refused_at_construction(make, kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        make(**{"wait_for_completion": True, **kwargs})


def test_the_default_is_not_to_wait(late):
    result = single().execute(context={})
    assert result["uploadStatus"] == "FAILED" and result["uploadMessage"] == "FILE_NOT_EXIST"


def test_single_waits_in_the_task_until_completed(late):
    result = single(wait_for_completion=True, deferrable=False, **FAST).execute(context={})
    assert result == {
        "thumbnailKey": result["thumbnailKey"],
        "uploadStatus": "COMPLETED",
        "uploadMessage": None,
    }
    checks = [
        entry for entry in late.state.requests_to("complete") if entry.thumbnail_key == result["thumbnailKey"]
    ]
    assert 2 <= len(checks) <= 10


def test_single_defers_once_and_comes_back_with_the_same_result(late):
    operator = single(wait_for_completion=True, deferrable=True, **FAST)
    deferral = deferred(operator)
    assert deferral.method_name == "execute_complete"
    _, kwargs = deferral.trigger.serialize()
    [key] = kwargs["thumbnail_keys"]
    assert (kwargs["poke_interval"], kwargs["workspace_name"]) == (0.1, WORKSPACE)
    result = operator.execute_complete({}, fire(deferral.trigger))
    assert result == {"thumbnailKey": key, "uploadStatus": "COMPLETED", "uploadMessage": None}


def test_single_already_completed_returns_without_waiting(mi_emulator):
    result = single(wait_for_completion=True, deferrable=True, **FAST).execute(context={})
    assert result["uploadStatus"] == "COMPLETED"
    assert len(mi_emulator.state.requests_to("complete")) == 1


@pytest.mark.parametrize("deferrable", [False, True])
def test_single_fails_for_good_when_the_api_refuses_the_image_later(late, deferrable):
    refused_later(late, uploads=1)
    operator = single(wait_for_completion=True, deferrable=deferrable, **FAST)
    with pytest.raises(AirflowFailException, match="failed for good: OVER_SIZE_LIMIT"):
        if deferrable:
            operator.execute_complete({}, fire(deferred(operator).trigger))
        else:
            operator.execute(context={})


@pytest.mark.parametrize("deferrable", [False, True])
def test_single_timeout_names_the_key_and_what_to_do(mi_emulator, deferrable):
    mi_emulator.state.visibility_delay = 60
    operator = single(wait_for_completion=True, deferrable=deferrable, poll_interval=0.1, timeout=0.5)
    with pytest.raises(AirflowFailException) as failure:
        if deferrable:
            operator.execute_complete({}, fire(deferred(operator).trigger))
        else:
            operator.execute(context={})
    message = str(failure.value)
    assert "not COMPLETED within timeout=0.5 s" in message
    assert "1 not completed: 'persons/thumbnails/" in message and "FILE_NOT_EXIST" in message
    assert "MediaIntelligencePersonThumbnailUploadSensor" in message and "Raise timeout" in message


class TaskInstance:
    """What the bulk operator asks of the task instance: its XComs, kept as JSON."""

    map_index = -1

    def __init__(self) -> None:
        self.xcoms: dict[str, str] = {}

    def xcom_push(self, key: str, value) -> None:
        self.xcoms[key] = json.dumps(value)

    def xcom_pull(self, task_ids: str, key: str, map_indexes: int):
        assert (task_ids, map_indexes) == ("bulk", -1)
        return json.loads(self.xcoms[key])


def run_bulk_wait(operator, deferrable: bool) -> dict:
    if not deferrable:
        return operator.execute(context={})
    context = {"ti": TaskInstance()}
    deferral = deferred(operator, context)
    state = context["ti"].xcom_pull("bulk", "wait_state", -1)
    assert state["summary"]["waiting"] == len(deferral.trigger.serialize()[1]["thumbnail_keys"])
    assert deferral.kwargs is None, "`airflow dags test` would drop them"
    return getattr(operator, deferral.method_name)(context, fire(deferral.trigger))


@pytest.mark.parametrize("deferrable", [False, True])
def test_bulk_waits_for_every_key_and_returns_the_compact_result(late, folder, tmp_path, deferrable):
    report = tmp_path / "report.json"
    operator = bulk(
        str(folder), report_path=str(report), wait_for_completion=True, deferrable=deferrable, **FAST
    )
    result = run_bulk_wait(operator, deferrable)
    assert result == {
        "files": 4,
        "completed": 4,
        "waiting": 0,
        "failed": 0,
        "waitingKeys": [],
        "report": str(report),
    }
    written = json.loads(report.read_text())
    assert written["counts"] == {"completed": 4}
    assert {entry["state"] for entry in written["files"]} == {"completed"}
    assert {entry["uploadStatus"] for entry in written["files"]} == {"COMPLETED"}


def test_bulk_defers_once_for_all_its_waiting_keys(late, folder):
    operator = bulk(str(folder), wait_for_completion=True, deferrable=True, **FAST)
    context = {"ti": TaskInstance()}
    deferral = deferred(operator, context)
    _, kwargs = deferral.trigger.serialize()
    state = context["ti"].xcom_pull("bulk", "wait_state", -1)
    assert sorted(kwargs["thumbnail_keys"]) == sorted(state["summary"]["waitingKeys"])
    assert len(kwargs["thumbnail_keys"]) == 4
    assert DEFAULT_SECRET_KEY not in json.dumps([kwargs, state])


DEFAULT_SECRET = __import__(
    "airflow_provider_mi.emulator", fromlist=["DEFAULT_SECRET_KEY"]
).DEFAULT_SECRET_KEY


@pytest.mark.parametrize("deferrable", [False, True])
def test_bulk_a_key_failing_for_good_moves_to_failed_within_max_failed_files(late, folder, deferrable):
    refused_later(late, uploads=4)
    operator = bulk(str(folder), max_failed_files=1, wait_for_completion=True, deferrable=deferrable, **FAST)
    result = run_bulk_wait(operator, deferrable)
    assert (result["completed"], result["failed"], result["waiting"], result["waitingKeys"]) == (3, 1, 0, [])


@pytest.mark.parametrize("deferrable", [False, True])
def test_bulk_a_key_failing_for_good_over_max_failed_files_fails_naming_the_file(late, folder, deferrable):
    (folder / "tiny.png").write_bytes(image(64))  # refused before the upload: failed before the wait
    refused_later(late, uploads=4)
    operator = bulk(str(folder), max_failed_files=1, wait_for_completion=True, deferrable=deferrable, **FAST)
    with pytest.raises(
        AirflowFailException,
        match=r"2 of 5 files failed \(tolerated: 1\): .*face-[0-3].png: OVER_SIZE_LIMIT; "
        "and 1 that failed before the wait",
    ):
        run_bulk_wait(operator, deferrable)


@pytest.mark.parametrize("deferrable", [False, True])
def test_bulk_timeout_names_the_keys_not_completed(mi_emulator, folder, tmp_path, deferrable):
    mi_emulator.state.visibility_delay = 60
    report = tmp_path / "report.json"
    operator = bulk(
        str(folder),
        report_path=str(report),
        wait_for_completion=True,
        deferrable=deferrable,
        poll_interval=0.1,
        timeout=0.5,
    )
    with pytest.raises(AirflowFailException) as failure:
        run_bulk_wait(operator, deferrable)
    message = str(failure.value)
    assert "not COMPLETED within timeout=0.5 s" in message
    assert (
        f"Of 4 thumbnails in workspace {WORKSPACE}: 0 completed; 4 not completed: 'persons/thumbnails/"
        in message
    )
    assert f"The report of every file: {report}." in message
    assert {entry["state"] for entry in json.loads(report.read_text())["files"]} == {"waiting"}
