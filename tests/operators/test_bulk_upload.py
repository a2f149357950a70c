"""The bulk upload operator against the emulator, over real HTTP: results, tolerance, limits, progress."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException
from PIL import Image

from airflow_provider_mi.emulator import DEFAULT_SECRET_KEY, Fault
from airflow_provider_mi.exceptions import InvalidParameterError, MediaIntelligenceAuthenticationError
from airflow_provider_mi.operators.bulk_upload import (
    MediaIntelligenceBulkUploadPersonThumbnailsOperator,
)
from airflow_provider_mi.storage import find_images

WORKSPACE = "bulk-workspace"


def image(size: int = 300, kind: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), "teal").save(buffer, kind)
    return buffer.getvalue()


@pytest.fixture
def folder(tmp_path):
    """Five good images, one too small, one that is not an image, and a file that is no image."""
    for number in range(5):
        (tmp_path / f"face-{number}.png").write_bytes(image())
    (tmp_path / "tiny.jpg").write_bytes(image(64, "JPEG"))
    (tmp_path / "notes.png").write_bytes(b"these are notes, not pixels")
    (tmp_path / "readme.txt").write_text("not taken from a folder")
    return tmp_path


def bulk(sources, **kwargs) -> MediaIntelligenceBulkUploadPersonThumbnailsOperator:
    kwargs.setdefault("workspace_name", WORKSPACE)
    return MediaIntelligenceBulkUploadPersonThumbnailsOperator(task_id="bulk", sources=sources, **kwargs)


def by_name(results: list[dict]) -> dict[str, dict]:
    return {result["file"].rsplit("/", 1)[-1]: result for result in results}


def test_find_images_from_a_folder_a_glob_and_a_list(folder):
    names = lambda paths: [path.name for path in paths]  # noqa: E731
    assert names(find_images(str(folder))) == [f"face-{n}.png" for n in range(5)] + ["notes.png", "tiny.jpg"]
    assert names(find_images(f"{folder}/face-[0-1].png")) == ["face-0.png", "face-1.png"]
    assert names(
        find_images([str(folder / "face-0.png"), f"{folder}/face-0.*", str(folder / "readme.txt")])
    ) == [
        "face-0.png",
        "readme.txt",
    ]
    assert find_images(f"{folder}/nothing-*.png") == []


def run_bulk(sources, tmp_path, **kwargs) -> tuple[dict, dict[str, dict]]:
    """Run the operator with a report file; return its XCom and the report's entries by file name."""
    report = tmp_path / "report.json"
    summary = bulk(sources, report_path=str(report), **kwargs).execute(context={})
    return summary, by_name(json.loads(report.read_text())["files"])


def test_uploads_every_file_and_reports_each(mi_emulator, folder, tmp_path):
    summary, outcome = run_bulk(str(folder), tmp_path, max_failed_files=2)
    assert summary == {
        "files": 7,
        "completed": 5,
        "waiting": 0,
        "failed": 2,
        "waitingKeys": [],
        "report": str(tmp_path / "report.json"),
    }
    assert len(outcome) == 7
    for number in range(5):
        result = outcome[f"face-{number}.png"]
        assert (result["state"], result["uploadStatus"], result["uploadMessage"]) == (
            "completed",
            "COMPLETED",
            None,
        )
        assert result["thumbnailKey"]
    assert outcome["tiny.jpg"]["state"] == "failed"
    assert "RESOLUTION_NOT_SUPPORT" in outcome["tiny.jpg"]["uploadMessage"]
    assert outcome["notes.png"]["state"] == "failed"
    assert outcome["notes.png"]["thumbnailKey"] is None
    # The two bad files were refused locally: five uploads, each presigned, put and completed.
    assert len(mi_emulator.state.requests_to("presigned-url")) == 5
    assert len(mi_emulator.state.requests_to("complete")) == 5


def test_the_xcom_stays_small_for_a_large_batch(mi_emulator, tmp_path):
    for number in range(300):
        (tmp_path / f"face-{number:03d}.png").write_bytes(image())
    mi_emulator.state.visibility_delay = 3600  # every upload waits: the waiting keys are in the XCom
    summary = bulk(str(tmp_path), max_concurrency=8).execute(context={})
    assert summary["files"] == summary["waiting"] == len(summary["waitingKeys"]) == 300
    assert set(summary) == {"files", "completed", "waiting", "failed", "waitingKeys", "report"}
    assert all(isinstance(key, str) for key in summary["waitingKeys"])


def test_an_unexpected_error_with_one_file_fails_only_that_file(mi_emulator, folder, tmp_path, monkeypatch):
    from airflow_provider_mi.hooks import media_intelligence

    original = media_intelligence.check_image
    broken = (folder / "face-3.png").read_bytes() + b"parser-bug"
    (folder / "face-3.png").write_bytes(broken)

    def check_image(data: bytes):
        if data == broken:
            raise RuntimeError("the image library choked")
        return original(data)

    monkeypatch.setattr(media_intelligence, "check_image", check_image)
    summary, outcome = run_bulk(f"{folder}/face-*.png", tmp_path, max_failed_files=1)
    assert (summary["completed"], summary["failed"]) == (4, 1)
    assert (
        outcome["face-3.png"]["uploadMessage"] == "unexpected error: RuntimeError: the image library choked"
    )


def test_a_report_path_whose_folder_is_missing_is_refused_before_any_request(mi_emulator, folder, tmp_path):
    with pytest.raises(
        AirflowFailException, match=r"report_path .* cannot be written: its folder does not exist"
    ):
        bulk(str(folder), report_path=str(tmp_path / "missing" / "report.json")).execute(context={})
    assert mi_emulator.state.requests == []


def test_fails_at_the_end_naming_the_failed_files(mi_emulator, folder):
    with pytest.raises(AirflowFailException) as failure:
        bulk(str(folder), max_failed_files=1).execute(context={})
    message = str(failure.value)
    assert "2 of 7 files failed (tolerated: 1)" in message
    assert "tiny.jpg" in message
    assert "notes.png" in message
    assert "face-0.png" not in message
    assert len(mi_emulator.state.requests_to("complete")) == 5  # the good ones were still uploaded


def test_uploads_the_api_does_not_see_yet_are_waiting_not_failed(mi_emulator, folder, tmp_path):
    mi_emulator.state.visibility_delay = 3600
    summary, outcome = run_bulk(f"{folder}/face-*.png", tmp_path)
    assert {(result["state"], result["uploadMessage"]) for result in outcome.values()} == {
        ("waiting", "FILE_NOT_EXIST")
    }
    assert summary["waitingKeys"] == [outcome[f"face-{number}.png"]["thumbnailKey"] for number in range(5)]


def _formatted(sources, folder):
    if isinstance(sources, str):
        return sources.format(folder=folder)
    if isinstance(sources, list):
        return [_formatted(source, folder) for source in sources]
    return sources


@pytest.mark.parametrize(
    ("sources", "workspace", "message"),
    [
        ("{folder}/nothing-*.png", WORKSPACE, "matched no file"),
        ("{folder}", "Not_A/Workspace", "workspace"),
        ("", WORKSPACE, "has an empty entry"),
        (["{folder}", " "], WORKSPACE, "has an empty entry"),
        (42, WORKSPACE, "sources is 42; give a folder"),
        ([b"/data"], WORKSPACE, "sources is b'/data'; give a local path such as"),
    ],
)
def test_bad_input_is_refused_before_any_request(mi_emulator, folder, sources, workspace, message):
    with pytest.raises(AirflowFailException, match=message) as failure:  # no retry: it cannot help
        bulk(_formatted(sources, folder), workspace_name=workspace).execute(context={})
    assert isinstance(failure.value.__cause__, InvalidParameterError)
    assert mi_emulator.state.requests == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_concurrency": 0}, "max_concurrency is 0; it must be a whole number of 1 or more"),
        ({"max_concurrency": 2.5}, "max_concurrency is 2.5"),
        ({"max_failed_files": -1}, "max_failed_files is -1"),
        ({"max_failed_files": True}, "max_failed_files is True"),
    ],
)
def test_bad_arguments_are_refused_when_the_dag_is_parsed(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        bulk("/data/faces", **kwargs)


def test_rejected_credentials_stop_the_whole_batch(mi_emulator, folder, monkeypatch):
    wrong = json.loads(mi_emulator.connection_json())
    wrong["password"] = DEFAULT_SECRET_KEY + "-wrong"
    monkeypatch.setenv("AIRFLOW_CONN_NCP_MI_DEFAULT", json.dumps(wrong))
    with pytest.raises(AirflowFailException, match=r"The batch stopped: .*Authentication Failed") as failure:
        bulk(f"{folder}/face-*.png", max_concurrency=1).execute(context={})
    assert isinstance(failure.value.__cause__, MediaIntelligenceAuthenticationError)
    assert len(mi_emulator.state.requests) == 1  # the first refusal stopped the batch


def test_credentials_rejected_mid_batch_report_what_was_done(mi_emulator, folder, tmp_path):
    rejected = Fault(
        401, json.dumps({"error": {"errorCode": "200", "message": "Authentication Failed"}}).encode()
    )
    mi_emulator.state.inject("presigned-url", Fault(None), Fault(None), rejected)
    report = tmp_path / "report.json"
    with pytest.raises(AirflowFailException) as failure:
        bulk(f"{folder}/face-*.png", max_concurrency=1, report_path=str(report)).execute(context={})
    message = str(failure.value)
    assert "Of 5 files: 2 completed, 0 waiting to be seen by the API, 3 failed (the rest not sent)" in message
    assert f"The report of every file: {report}" in message
    entries = by_name(json.loads(report.read_text())["files"])
    assert [entries[f"face-{n}.png"]["state"] for n in range(5)] == ["completed"] * 2 + ["failed"] * 3
    assert entries["face-4.png"]["uploadMessage"] == "not sent: credentials rejected"


def test_stays_within_the_rate_limits_the_api_enforces(mi_emulator, folder, monkeypatch):
    # The gateway enforces what the connection's extras tell the client, which keeps them for the
    # operator's threads together: 12 presigned URLs at 5 per second take three turns.
    mi_emulator.state.rate_limits = {"presigned-url": (5, 1.0), "complete": (300, 60.0)}
    conn = json.loads(mi_emulator.connection_json())
    conn["extra"] = {"presigned_url_calls_per_second": 5, "complete_calls_per_minute": 300}
    monkeypatch.setenv("AIRFLOW_CONN_NCP_MI_DEFAULT", json.dumps(conn))
    for number in range(5, 12):
        (folder / f"face-{number}.png").write_bytes(image())
    summary = bulk(f"{folder}/face-*.png", max_concurrency=6).execute(context={})
    assert summary["completed"] == 12
    assert not any(mi_emulator.state.stats()["throttled"].values())


def test_logs_progress_as_it_goes(mi_emulator, folder, caplog, capfd):
    caplog.set_level(logging.INFO)  # Airflow 2 logs through logging, Airflow 3 prints with structlog
    bulk(f"{folder}/face-*.png", progress_interval=0).execute(context={})
    logged = "\n".join([*(record.getMessage() for record in caplog.records), *capfd.readouterr()])
    progress = re.findall(r"Progress: (\d+) done \((\d+) failed\), (\d+) left", logged)
    # (Airflow 2 shows each line twice: in the log records and on stderr.)
    assert list(dict.fromkeys(done for done, _, _ in progress)) == ["1", "2", "3", "4", "5"]
    assert progress[-1] == ("5", "0", "0")
    assert "Done: 5 completed, 0 waiting to be seen by the API, 0 failed" in logged
