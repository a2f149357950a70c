"""
The operators that change persons, against the emulator over real HTTP: add and remove thumbnails,
merge (and its dry run), delete; idempotent reruns, and bad values refused before any request.
"""

from __future__ import annotations

import logging

import pytest
from airflow.providers.common.compat.sdk import AirflowFailException

from airflow_provider_mi.emulator.person_routes import PersonRoutes
from airflow_provider_mi.exceptions import InvalidParameterError
from airflow_provider_mi.operators.persons import (
    MediaIntelligenceAddPersonThumbnailsOperator,
    MediaIntelligenceDeletePersonOperator,
    MediaIntelligenceMergePersonsOperator,
    MediaIntelligenceRemovePersonThumbnailsOperator,
)

WS = "person-changes-ws"
UNKNOWN = "999999"


def run(operator_class: type, **kwargs) -> dict:
    return operator_class(task_id="change", workspace_name=WS, **kwargs).execute(context={})


def add(person_id: str, keys: list[str], **kwargs) -> dict:
    return run(
        MediaIntelligenceAddPersonThumbnailsOperator, person_id=person_id, thumbnail_keys=keys, **kwargs
    )


def remove(person_id: str, ids: list[str]) -> dict:
    return run(MediaIntelligenceRemovePersonThumbnailsOperator, person_id=person_id, thumbnail_ids=ids)


def merge(person_id: str, merged: list[str], **kwargs) -> dict:
    return run(MediaIntelligenceMergePersonsOperator, person_id=person_id, merged_person_ids=merged, **kwargs)


def delete(person_id: str, **kwargs) -> dict:
    return run(MediaIntelligenceDeletePersonOperator, person_id=person_id, **kwargs)


@pytest.fixture
def person(hook, upload):
    """``person(face, photos, name)``: register a person from ``photos`` photos of ``face``; its id."""

    def register(face: int, photos: int, name: str | None = None) -> str:
        keys = [upload(WS, face, variant) for variant in range(photos)]
        return hook.create_person(WS, keys, name=name).person_id

    return register


def thumbnails(mi_emulator, person_id: str) -> list[tuple[str, str, bool]]:
    """The person's ``(id, key, primary)`` as the emulator holds them."""
    [found] = [p for p in mi_emulator.state.persons(WS) if str(p.person_id) == person_id]
    return [(str(t.id), t.key, t.primary) for t in found.thumbnails]


def writes(mi_emulator) -> int:
    return len(mi_emulator.state.write_requests())


def test_templated_fields():
    assert MediaIntelligenceAddPersonThumbnailsOperator.template_fields == (
        "person_id",
        "thumbnail_keys",
        "primary_thumbnail_key",
        "workspace_name",
        "mi_conn_id",
    )
    assert MediaIntelligenceRemovePersonThumbnailsOperator.template_fields == (
        "person_id",
        "thumbnail_ids",
        "workspace_name",
        "mi_conn_id",
    )
    assert MediaIntelligenceMergePersonsOperator.template_fields == (
        "person_id",
        "merged_person_ids",
        "workspace_name",
        "mi_conn_id",
    )
    assert MediaIntelligenceDeletePersonOperator.template_fields == (
        "person_id",
        "workspace_name",
        "mi_conn_id",
    )


# --- add ----------------------------------------------------------------------------------------


def test_add_attaches_the_new_keys_and_skips_those_held(person, upload, mi_emulator):
    ada = person(1, 1, "Ada")
    [(_, held_key, _)] = thumbnails(mi_emulator, ada)
    new = [upload(WS, 1, 1), upload(WS, 1, 2)]
    result = add(ada, [held_key, *new])
    after = thumbnails(mi_emulator, ada)
    assert result == {
        "personId": ada,
        "action": "attached",
        "added": new,
        "addedThumbnailIds": [thumbnail_id for thumbnail_id, key, _ in after if key in new],
        "thumbnailCount": 3,
    }
    assert [primary for *_, primary in after] == [True, False, False], "the person keeps its primary"


def test_add_rerun_changes_nothing(person, upload, mi_emulator):
    ada = person(2, 1, "Ada")
    keys = [upload(WS, 2, 1)]
    add(ada, keys)
    before = writes(mi_emulator)
    again = add(ada, keys)
    assert (again["action"], again["added"], again["thumbnailCount"]) == ("unchanged", [], 2)
    assert writes(mi_emulator) == before, "no write request on the rerun"


def test_add_makes_a_new_key_primary_when_told(person, upload, mi_emulator):
    ada = person(3, 1, "Ada")
    key = upload(WS, 3, 1)
    add(ada, [key], primary_thumbnail_key=key)
    assert [(k, primary) for _, k, primary in thumbnails(mi_emulator, ada)][1] == (key, True)
    assert sum(primary for *_, primary in thumbnails(mi_emulator, ada)) == 1


def test_add_refuses_to_make_a_held_thumbnail_primary(person, upload, mi_emulator):
    ada = person(4, 2, "Ada")
    held_key = thumbnails(mi_emulator, ada)[1][1]
    before = writes(mi_emulator)
    with pytest.raises(AirflowFailException, match=r"already a thumbnail of person .* but not its primary"):
        add(ada, [held_key, upload(WS, 4, 2)], primary_thumbnail_key=held_key)
    assert writes(mi_emulator) == before


def test_add_works_when_the_api_does_not_say_which_key_a_thumbnail_has(
    person, upload, mi_emulator, monkeypatch
):
    """Older responses give a thumbnail's id, url and primary flag only."""
    ada = person(16, 2, "Ada")
    shape = PersonRoutes._thumbnail
    monkeypatch.setattr(PersonRoutes, "_thumbnail", lambda self, t: {**shape(self, t), "thumbnailKey": None})
    result = add(ada, [upload(WS, 16, 2)])
    assert (result["action"], result["thumbnailCount"], len(result["addedThumbnailIds"])) == (
        "attached",
        3,
        1,
    )


def test_add_beyond_100_thumbnails_fails_before_the_write(hook, mi_emulator):
    keys = [f"bulk/face-{n}.png" for n in range(101)]
    mi_emulator.state.store_thumbnails(WS, keys)
    person_id = hook.create_person(WS, keys[:100], name="Full").person_id
    before = writes(mi_emulator)
    with pytest.raises(AirflowFailException, match="would have 101 thumbnails; a person has at most 100"):
        add(person_id, [keys[100]])
    assert writes(mi_emulator) == before


def test_add_to_an_unknown_person_fails_clearly(upload, mi_emulator):
    with pytest.raises(
        AirflowFailException, match=rf"No person {UNKNOWN} in workspace .*no thumbnail was added"
    ):
        add(UNKNOWN, [upload(WS, 5, 0)])
    assert writes(mi_emulator) == 0


# --- remove -------------------------------------------------------------------------------------


def test_remove_takes_the_ids_the_person_has_and_logs_the_others(person, mi_emulator, caplog, capsys):
    ada = person(6, 3, "Ada")
    first, second, third = (thumbnail_id for thumbnail_id, *_ in thumbnails(mi_emulator, ada))
    with caplog.at_level(logging.INFO):
        result = remove(ada, [first, "424242"])
    assert result == {"personId": ada, "removed": [first], "remaining": 2}
    logged = caplog.text + capsys.readouterr().out  # Airflow 2 logs through logging, Airflow 3 to stdout
    assert "has no thumbnail 424242: skipped" in logged
    assert [thumbnail_id for thumbnail_id, *_ in thumbnails(mi_emulator, ada)] == [second, third]
    before = writes(mi_emulator)
    assert remove(ada, [first]) == {"personId": ada, "removed": [], "remaining": 2}, "a rerun"
    assert writes(mi_emulator) == before, "no write request on the rerun"


def test_remove_refuses_to_take_every_thumbnail(person, mi_emulator):
    ada = person(7, 2, "Ada")
    ids = [thumbnail_id for thumbnail_id, *_ in thumbnails(mi_emulator, ada)]
    before = writes(mi_emulator)
    with pytest.raises(AirflowFailException, match=r"holds every thumbnail of person .* keeps at least one"):
        remove(ada, [*ids, "424242"])
    assert writes(mi_emulator) == before
    assert len(thumbnails(mi_emulator, ada)) == 2


# --- merge --------------------------------------------------------------------------------------


def test_merge_dry_run_reports_what_would_move_and_writes_nothing(person, mi_emulator):
    ada, bob, anon = person(8, 2, "Ada"), person(9, 1, "Bob"), person(10, 3)
    before = writes(mi_emulator)
    result = merge(ada, [bob, anon], dry_run=True)
    assert result == {
        "personId": ada,
        "name": "Ada",
        "dryRun": True,
        "merged": False,
        "mergedPersons": [
            {"personId": bob, "name": "Bob", "thumbnailCount": 1},
            {"personId": anon, "name": None, "thumbnailCount": 3},
        ],
        "thumbnailsToMove": 4,
        "thumbnailCount": 6,
        "transferredThumbnailCount": None,
        "transferredAssetCount": None,
        "mergedTime": None,
    }
    assert writes(mi_emulator) == before, "a dry run sends no write request"
    assert len(mi_emulator.state.persons(WS)) == 3


def test_merge_moves_the_thumbnails_and_removes_the_merged(person, mi_emulator):
    ada, bob = person(11, 2, "Ada"), person(12, 1, "Bob")
    result = merge(ada, [bob])
    assert (result["merged"], result["dryRun"], result["thumbnailsToMove"]) == (True, False, 1)
    assert (result["transferredThumbnailCount"], result["thumbnailCount"]) == (1, 3)
    assert result["mergedTime"]
    assert [str(p.person_id) for p in mi_emulator.state.persons(WS)] == [ada]
    assert len(thumbnails(mi_emulator, ada)) == 3
    before = writes(mi_emulator)
    with pytest.raises(AirflowFailException, match=rf"No person {bob} .*nothing was merged"):
        merge(ada, [bob])  # a rerun: the merged person is gone
    assert writes(mi_emulator) == before


@pytest.mark.parametrize("dry_run", [False, True])
def test_merge_with_an_unknown_person_fails_before_the_merge(person, mi_emulator, dry_run):
    ada, bob = person(13, 1, "Ada"), person(14, 1, "Bob")
    with pytest.raises(AirflowFailException, match=rf"No person {UNKNOWN} in workspace"):
        merge(ada, [bob, UNKNOWN], dry_run=dry_run)
    assert writes(mi_emulator) == 2, "only the two registrations"
    assert len(mi_emulator.state.persons(WS)) == 2


# --- delete -------------------------------------------------------------------------------------


def test_delete_removes_the_person_and_a_rerun_fails_unless_missing_ok(person, mi_emulator):
    ada = person(15, 1, "Ada")
    assert delete(ada) == {"personId": ada, "deleted": True, "name": "Ada"}
    assert mi_emulator.state.persons(WS) == []
    before = writes(mi_emulator)
    with pytest.raises(AirflowFailException, match=rf"No person {ada} in workspace .*missing_ok=True"):
        delete(ada)
    assert delete(ada, missing_ok=True) == {"personId": ada, "deleted": False, "name": None}
    assert writes(mi_emulator) == before, "no write request for a person not found"


# --- bad values ---------------------------------------------------------------------------------

TOO_MANY = [str(n) for n in range(2001, 2012)]


@pytest.mark.parametrize(
    ("operator_class", "kwargs", "message"),
    [
        (
            MediaIntelligenceAddPersonThumbnailsOperator,
            {"person_id": "no id!", "thumbnail_keys": ["k"]},
            "person_id",
        ),
        (MediaIntelligenceAddPersonThumbnailsOperator, {"person_id": 1001, "thumbnail_keys": []}, "is empty"),
        (
            MediaIntelligenceAddPersonThumbnailsOperator,
            {"person_id": 1001, "thumbnail_keys": ["a"], "primary_thumbnail_key": "b"},
            "primary_thumbnail_key 'b' is not among",
        ),
        (
            MediaIntelligenceRemovePersonThumbnailsOperator,
            {"person_id": 1001, "thumbnail_ids": []},
            "is empty",
        ),
        (
            MediaIntelligenceRemovePersonThumbnailsOperator,
            {"person_id": 1001, "thumbnail_ids": "3001"},
            "give a list of ids",
        ),
        (MediaIntelligenceMergePersonsOperator, {"person_id": 1001, "merged_person_ids": []}, "is empty"),
        (
            MediaIntelligenceMergePersonsOperator,
            {"person_id": 1001, "merged_person_ids": TOO_MANY},
            "has 11 ids; the API takes at most 10",
        ),
        (
            MediaIntelligenceMergePersonsOperator,
            {"person_id": 1001, "merged_person_ids": [1002, "1001"]},
            "holds the target person 1001 itself",
        ),
        (MediaIntelligenceDeletePersonOperator, {"person_id": "../1001"}, "person_id"),
        (MediaIntelligenceDeletePersonOperator, {"person_id": True}, "person_id"),
    ],
)
def test_bad_values_fail_without_retries_before_any_request(mi_emulator, operator_class, kwargs, message):
    with pytest.raises(AirflowFailException, match=message):
        run(operator_class, **kwargs)
    assert mi_emulator.state.requests == []


def test_flags_must_be_booleans():
    with pytest.raises(InvalidParameterError, match="dry_run is 'yes'"):
        MediaIntelligenceMergePersonsOperator(task_id="t", person_id=1, merged_person_ids=[2], dry_run="yes")
    with pytest.raises(InvalidParameterError, match="missing_ok is 1"):
        MediaIntelligenceDeletePersonOperator(task_id="t", person_id=1, missing_ok=1)


def test_dry_run_leaves_the_base_operators_dry_run_method_alone():
    operator = MediaIntelligenceMergePersonsOperator(
        task_id="t", person_id=1, merged_person_ids=[2], dry_run=True
    )
    assert callable(operator.dry_run)
