"""The person sync against the emulator over real HTTP: first run, reruns, resumes, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException

from airflow_provider_mi.core.manifest import KEY_REUSE_SECONDS
from airflow_provider_mi.emulator import MediaIntelligenceEmulator, faults
from airflow_provider_mi.emulator.faces import face_image
from airflow_provider_mi.exceptions import InvalidParameterError
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook
from airflow_provider_mi.operators.person_sync import MediaIntelligenceSyncPersonsOperator

WS = "sync-ws"
PEOPLE = {"Ada": 31, "Bob": 32, "Cy": 33}


def write_photos(root: Path, name: str, seed: int, variants: range) -> None:
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for variant in variants:
        (folder / f"{variant}.jpg").write_bytes(face_image(seed, variant))


@pytest.fixture
def faces(tmp_path: Path) -> Path:
    root = tmp_path / "faces"
    for name, seed in PEOPLE.items():
        write_photos(root, name, seed, range(2))
    return root


def sync(source, manifest: Path, **kwargs) -> dict:
    operator = MediaIntelligenceSyncPersonsOperator(
        task_id="sync",
        workspace_name=WS,
        source=source,
        manifest_path=str(manifest),
        poll_interval=0.05,
        **kwargs,
    )
    return operator.execute(context={})


def endpoints(emulator: MediaIntelligenceEmulator, since: int = 0) -> list[str]:
    return [entry.endpoint for entry in emulator.state.requests[since:]]


def persons(emulator: MediaIntelligenceEmulator) -> dict[str, int]:
    return {person.name: len(person.thumbnails) for person in emulator.state.persons(WS)}


def test_a_first_run_registers_every_person_with_its_photos(faces, tmp_path, mi_emulator):
    result = sync(faces, tmp_path / "manifest.json")
    assert (result["created"], result["attached"], result["unchanged"], result["failed"]) == (3, 0, 0, 0)
    assert persons(mi_emulator) == {"Ada": 2, "Bob": 2, "Cy": 2}
    assert set(result["changed"]) == set(PEOPLE)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    files = manifest["persons"]["Ada"]["files"]
    assert sorted(files) == ["Ada/0.jpg", "Ada/1.jpg"]
    assert all(entry["registered"] and entry["thumbnailKey"] for entry in files.values())


def test_a_second_run_sends_one_read_and_no_write(faces, tmp_path, mi_emulator):
    sync(faces, tmp_path / "manifest.json")
    before = len(mi_emulator.state.requests)
    result = sync(faces, tmp_path / "manifest.json")
    assert (result["unchanged"], result["changed"]) == (3, {})
    assert endpoints(mi_emulator, before) == ["list-persons"]


def test_a_new_photo_is_added_to_its_person_only(faces, tmp_path, mi_emulator):
    sync(faces, tmp_path / "manifest.json")
    write_photos(faces, "Bob", PEOPLE["Bob"], range(2, 3))
    before = len(mi_emulator.state.requests)
    result = sync(faces, tmp_path / "manifest.json")
    assert (result["attached"], result["unchanged"], list(result["changed"])) == (1, 2, ["Bob"])
    assert persons(mi_emulator)["Bob"] == 3
    writes = [e for e in endpoints(mi_emulator, before) if e not in ("list-persons", "get-person")]
    assert writes == ["presigned-url", "storage", "complete", "add-thumbnails"]


def test_a_changed_photo_counts_as_new(faces, tmp_path, mi_emulator):
    sync(faces, tmp_path / "manifest.json")
    (faces / "Cy" / "0.jpg").write_bytes(face_image(PEOPLE["Cy"], 5))
    result = sync(faces, tmp_path / "manifest.json")
    assert result["changed"] == {"Cy": result["changed"]["Cy"]} and persons(mi_emulator)["Cy"] == 3


def test_persons_already_in_the_workspace_are_found_by_name_and_by_face(
    faces, tmp_path, mi_emulator, hook, upload
):
    ada_key, bob_key = upload(WS, PEOPLE["Ada"], 7), upload(WS, 99, 0)
    hook.create_person(WS, [ada_key], name="Ada Lovelace")  # the same face, another name
    hook.create_person(WS, [bob_key], name="Bob")  # the same name, another face
    report = tmp_path / "report.json"
    result = sync(faces, tmp_path / "manifest.json", report_path=str(report))
    assert (result["created"], result["attached"]) == (1, 2)
    assert persons(mi_emulator) == {"Ada Lovelace": 3, "Bob": 3, "Cy": 2}
    entries = {entry["name"]: entry for entry in json.loads(report.read_text())["persons"]}
    assert entries["Ada"]["matchedBy"] == "face" and entries["Ada"]["score"] >= 90
    assert entries["Bob"]["matchedBy"] == "name"


def test_on_match_fail_fails_the_person_and_the_task(faces, tmp_path, mi_emulator, hook, upload):
    hook.create_person(WS, [upload(WS, 99, 0)], name="Bob")
    with pytest.raises(AirflowException, match=r"1 of 3 persons failed.*already holds person"):
        sync(faces, tmp_path / "manifest.json", on_match="fail")
    assert persons(mi_emulator) == {"Bob": 1, "Ada": 2, "Cy": 2}


def test_a_run_stopped_after_a_create_resumes_without_duplicates(faces, tmp_path, mi_emulator, monkeypatch):
    """The manifest is not saved after the second person's create: the rerun finds the person."""
    created = []
    original = MediaIntelligenceHook.create_person

    def create_then_die(self, *args, **kwargs):
        created.append(original(self, *args, **kwargs))
        if len(created) == 2:
            raise KeyboardInterrupt  # as if the worker were stopped between the write and the save
        return created[-1]

    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(MediaIntelligenceHook, "create_person", create_then_die)
        sync(faces, tmp_path / "manifest.json")
    uploads = endpoints(mi_emulator).count("presigned-url")
    result = sync(faces, tmp_path / "manifest.json")
    assert (result["created"], result["unchanged"]) == (1, 2)
    assert persons(mi_emulator) == {"Ada": 2, "Bob": 2, "Cy": 2}
    assert endpoints(mi_emulator).count("presigned-url") == uploads, "keys of the first run are used"
    assert sync(faces, tmp_path / "manifest.json")["unchanged"] == 3


def stopped(*args, **kwargs):
    raise KeyboardInterrupt  # as if the worker were stopped before the first create


def test_old_keys_are_uploaded_again_and_keys_the_api_refuses_too(faces, tmp_path, mi_emulator, monkeypatch):
    manifest = tmp_path / "manifest.json"
    with monkeypatch.context() as patched, pytest.raises(KeyboardInterrupt):
        patched.setattr(MediaIntelligenceHook, "create_person", stopped)
        sync(faces, manifest)
    payload = json.loads(manifest.read_text())
    for entry in payload["persons"]["Ada"]["files"].values():
        entry["uploadedAt"] -= KEY_REUSE_SECONDS + 1  # too old to use by this worker's clock
    manifest.write_text(json.dumps(payload))
    mi_emulator.state.advance(25 * 3600)  # and by the API's, every key has expired
    uploads = endpoints(mi_emulator).count("presigned-url")
    result = sync(faces, manifest)
    assert result["created"] == 3
    assert endpoints(mi_emulator).count("presigned-url") == uploads + 6
    assert persons(mi_emulator) == {"Ada": 2, "Bob": 2, "Cy": 2}


def test_a_photo_the_api_refuses_is_reported_and_not_sent_again(faces, tmp_path, mi_emulator):
    mi_emulator.state.inject("complete", faults.unknown_status("FAILED"))  # the first completion: Ada/0.jpg
    result = sync(faces, tmp_path / "manifest.json", max_concurrency=1, report_path=str(tmp_path / "r.json"))
    assert (result["created"], persons(mi_emulator)["Ada"]) == (3, 1)
    [ada] = [
        entry for entry in json.loads((tmp_path / "r.json").read_text())["persons"] if entry["name"] == "Ada"
    ]
    assert ada["failedFiles"] == {"Ada/0.jpg": "FAILED"}
    before = len(mi_emulator.state.requests)
    again = sync(faces, tmp_path / "manifest.json", report_path=str(tmp_path / "r.json"))
    assert again["unchanged"] == 3 and endpoints(mi_emulator, before) == ["list-persons"]
    [ada] = [
        entry for entry in json.loads((tmp_path / "r.json").read_text())["persons"] if entry["name"] == "Ada"
    ]
    assert ada["failedFiles"] == {"Ada/0.jpg": "refused earlier: FAILED"}


def test_a_person_without_any_usable_photo_fails_the_task(faces, tmp_path, mi_emulator):
    (faces / "Dee").mkdir()
    (faces / "Dee" / "0.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    with pytest.raises(
        AirflowException, match=r"1 of 4 persons failed \(tolerated: 0\): Dee: failed; no photo uploaded"
    ):
        sync(faces, tmp_path / "manifest.json")
    assert sync(faces, tmp_path / "manifest.json", max_failed_persons=1)["failedPersons"] == ["Dee"]


def test_a_missing_manifest_fails_when_asked_before_any_request(faces, tmp_path, mi_emulator):
    with pytest.raises(AirflowFailException, match="does not exist and on_missing_manifest is 'fail'"):
        sync(faces, tmp_path / "manifest.json", on_missing_manifest="fail")
    assert mi_emulator.state.requests == []


@pytest.mark.parametrize(
    ("arrange", "message"),
    [
        (lambda root, m: (root / "loose.jpg").write_bytes(b"x"), "photos outside a person's folder"),
        (lambda root, m: (root / ("x" * 51)).mkdir(), "a person's name has at most 50"),
        (lambda root, m: m.write_text("{not json"), "is not JSON"),
        (
            lambda root, m: m.write_text(
                '{"format": 2, "kind": "person-sync", "workspace": "other", "persons": {}}'
            ),
            "of workspace 'other'",
        ),
        (lambda root, m: m.write_text('{"format": 7}'), "not a person-sync manifest"),
    ],
)
def test_bad_input_is_refused_before_any_request(faces, tmp_path, mi_emulator, arrange, message):
    manifest = tmp_path / "manifest.json"
    arrange(faces, manifest)
    if (faces / ("x" * 51)).exists():
        write_photos(faces, "x" * 51, 1, range(1))
    with pytest.raises(AirflowFailException, match=message):
        sync(faces, manifest)
    assert mi_emulator.state.requests == []


def test_bad_values_are_refused_at_parse_time_or_before_any_request(tmp_path, mi_emulator):
    with pytest.raises(InvalidParameterError, match="on_missing_manifest is 'ignore'"):
        MediaIntelligenceSyncPersonsOperator(
            task_id="t", source="x", manifest_path="m", on_missing_manifest="ignore"
        )
    with pytest.raises(AirflowFailException, match="is not a folder"):
        sync(tmp_path / "nowhere", tmp_path / "m.json")
    with pytest.raises(AirflowFailException, match="names files that are not there"):
        sync({"Ada": [str(tmp_path / "no.jpg")]}, tmp_path / "m.json")
    write_photos(tmp_path, "Ada", 1, range(1))
    with pytest.raises(AirflowFailException, match=r"manifest_path .* cannot be written"):
        sync({"Ada": [str(tmp_path / "Ada" / "0.jpg")]}, tmp_path / "no" / "m.json")
    assert mi_emulator.state.requests == []


def test_a_mapping_names_the_files_of_each_person(tmp_path, mi_emulator):
    write_photos(tmp_path, "anywhere", 41, range(2))
    files = [str(tmp_path / "anywhere" / "0.jpg"), str(tmp_path / "anywhere" / "1.jpg")]
    result = sync({"Eve": files}, tmp_path / "manifest.json")
    assert result["created"] == 1 and persons(mi_emulator) == {"Eve": 2}


def test_late_uploads_are_waited_for_and_a_run_that_gave_up_on_them_resumes_with_their_keys(
    faces, tmp_path, mi_emulator
):
    mi_emulator.state.visibility_delay = 60.0  # the API sees no upload for a minute
    with pytest.raises(AirflowException, match=r"3 of 3 persons failed.*not seen by the API within 0\.2 s"):
        sync(faces, tmp_path / "manifest.json", completion_timeout=0.2)
    assert mi_emulator.state.persons(WS) == []
    uploads = endpoints(mi_emulator).count("presigned-url")
    mi_emulator.state.make_all_visible()
    result = sync(faces, tmp_path / "manifest.json")
    assert result["created"] == 3
    assert endpoints(mi_emulator).count("presigned-url") == uploads, "the first run's keys are used"
