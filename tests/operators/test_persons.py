"""The register-person operator against the emulator over real HTTP: created, attached, unchanged, refused."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_mi.exceptions import InvalidParameterError
from airflow_provider_mi.operators.persons import MediaIntelligenceRegisterPersonOperator

WS = "register-ws"


def register(keys: list[str], **kwargs) -> dict:
    operator = MediaIntelligenceRegisterPersonOperator(
        task_id="register", workspace_name=WS, thumbnail_keys=keys, **kwargs
    )
    return operator.execute(context={})


def test_a_new_face_creates_a_person(upload, mi_emulator):
    result = register([upload(WS, 1, 0), upload(WS, 1, 1)], name="Hong")
    assert (result["action"], result["created"], result["matched"], result["score"]) == (
        "created",
        True,
        False,
        None,
    )
    [person] = mi_emulator.state.persons(WS)
    assert str(person.person_id) == result["personId"]


def test_a_known_face_attaches_instead_of_duplicating(hook, upload, mi_emulator):
    first = register([upload(WS, 2, 0)], name="Kim")
    again = register([upload(WS, 2, 1)], name="Kim (new photo)")
    assert (again["personId"], again["action"], again["matchedBy"]) == (first["personId"], "attached", "face")
    assert again["score"] >= 90
    assert len(mi_emulator.state.persons(WS)) == 1
    assert len(hook.get_person(WS, first["personId"]).thumbnails) == 2


def test_a_rerun_with_the_same_thumbnails_changes_nothing(upload, mi_emulator):
    keys = [upload(WS, 3, 0)]
    first = register(keys, name="Lee")
    writes = len(mi_emulator.state.write_requests())
    again = register(keys, name="Lee")
    assert (again["personId"], again["action"]) == (first["personId"], "unchanged")
    assert len(mi_emulator.state.write_requests()) == writes, "no write request on the second run"


def test_a_taken_name_is_found_before_the_request(upload, mi_emulator):
    first = register([upload(WS, 4, 0)], name="Park")
    again = register([upload(WS, 5, 0)], name="Park")  # another face, the same name
    assert (again["personId"], again["action"], again["matchedBy"]) == (first["personId"], "attached", "name")


@pytest.mark.parametrize(
    ("on_match", "message"), [("fail", "on_match='fail'"), ("create", "the name is taken")]
)
def test_on_match_fail_or_a_taken_name_with_create_fails_without_retries(
    upload, mi_emulator, on_match, message
):
    register([upload(WS, 6, 0)], name="Choi")
    writes = len(mi_emulator.state.write_requests())
    with pytest.raises(AirflowFailException, match=message):
        register([upload(WS, 6, 1)], name="Choi", on_match=on_match)
    assert len(mi_emulator.state.write_requests()) == writes


def test_on_match_create_registers_a_second_person_for_a_known_face(upload, mi_emulator):
    register([upload(WS, 7, 0)], name="Jung")
    second = register([upload(WS, 7, 1)], name="Jung Jr", on_match="create")
    assert second["action"] == "created"
    assert len(mi_emulator.state.persons(WS)) == 2


def test_bad_values_are_refused_before_any_request(mi_emulator):
    with pytest.raises(InvalidParameterError, match="on_match is 'merge'"):
        MediaIntelligenceRegisterPersonOperator(task_id="t", thumbnail_keys=["k"], on_match="merge")
    with pytest.raises(InvalidParameterError, match="score_threshold is 70"):
        MediaIntelligenceRegisterPersonOperator(task_id="t", thumbnail_keys=["k"], score_threshold=70)
    with pytest.raises(AirflowFailException, match="a person's name has at most 50"):
        register(["persons/thumbnails/k.jpg"], name="x" * 51)
    with pytest.raises(AirflowFailException, match="thumbnail_keys is empty"):
        register([])
    assert mi_emulator.state.requests == []


def test_an_api_refusal_such_as_an_expired_key_fails_without_retries(upload, mi_emulator):
    key = upload(WS, 8, 0)
    mi_emulator.state.advance(25 * 3600)
    with pytest.raises(AirflowFailException, match=r"has expired \(24 hours after upload\); upload it again"):
        register([key], name="Yoon")
    assert mi_emulator.state.write_requests() == []
