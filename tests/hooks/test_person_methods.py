"""
The person side of the hook, over real HTTP to the emulator: register, read, update, list, search,
merge, thumbnails, compare and similar (the emulator's stand-in for face matching), tags.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_mi.emulator import MediaIntelligenceEmulator
from airflow_provider_mi.emulator.faces import face_image
from airflow_provider_mi.exceptions import InvalidParameterError, MediaIntelligenceApiError
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook

WS = "persons-ws"


@pytest.fixture
def hook(mi_emulator: MediaIntelligenceEmulator) -> Iterator[MediaIntelligenceHook]:
    hook = MediaIntelligenceHook()
    yield hook
    hook.close()


def upload(hook: MediaIntelligenceHook, person: int, variant: int) -> str:
    """Upload one photo of a made-up person; return its thumbnail key."""
    completion = hook.upload_person_thumbnail(WS, f"p{person}-{variant}.jpg", face_image(person, variant))
    assert completion.raw_status == "COMPLETED"
    return completion.thumbnail_key


def test_register_read_update_and_delete_a_person(hook, mi_emulator):
    keys = [upload(hook, 1, variant) for variant in range(2)]
    person = hook.create_person(
        WS, keys, name="Hong Gildong", description="A hero", primary_thumbnail_key=keys[1]
    )
    assert person.name == "Hong Gildong"
    assert [thumbnail.is_primary for thumbnail in person.thumbnails] == [False, True]
    assert person.raw, "the whole answer is kept"

    assert hook.get_person(WS, person.person_id) == person
    renamed = hook.update_person(
        WS, person.person_id, name="Gildong", primary_thumbnail_id=person.thumbnails[0].thumbnail_id
    )
    assert (renamed.name, renamed.thumbnails[0].is_primary) == ("Gildong", True)

    assert hook.delete_person(WS, person.person_id).person_id == person.person_id
    with pytest.raises(MediaIntelligenceApiError, match="does not exist"):
        hook.get_person(WS, person.person_id)


def test_every_person_is_listed_page_after_page(hook, mi_emulator):
    keys = [upload(hook, 2, variant) for variant in range(5)]
    created = [hook.create_person(WS, [key], name=f"Person {number}") for number, key in enumerate(keys)]
    listed = list(hook.list_persons(WS, page_size=2))
    assert [person.person_id for person in listed] == [person.person_id for person in created]
    assert len([entry for entry in mi_emulator.state.requests if entry.method == "GET"]) == 3, "three pages"
    page = hook.search_persons(WS, name="Person 3")
    assert [person.name for person in page.items] == ["Person 3"]


def test_compare_finds_the_person_a_new_photo_shows(hook, mi_emulator):
    kim = hook.create_person(WS, [upload(hook, 3, 0)], name="Kim")
    hook.create_person(WS, [upload(hook, 4, 0)], name="Lee")
    matches = hook.compare_thumbnail(WS, upload(hook, 3, 1), score_threshold=80)
    assert [match.person_id for match in matches] == [kim.person_id]
    assert matches[0].score is not None and matches[0].score >= 80
    assert hook.compare_thumbnail(WS, upload(hook, 5, 0)) == ()


def test_thumbnails_are_added_and_removed_but_never_all(hook, mi_emulator):
    person = hook.create_person(WS, [upload(hook, 6, 0)], name="Park")
    thumbnails = hook.add_person_thumbnails(WS, person.person_id, [upload(hook, 6, 1), upload(hook, 6, 2)])
    assert len(thumbnails) == 3
    assert sum(thumbnail.is_primary for thumbnail in thumbnails) == 1, "the person's primary is kept"
    left = hook.remove_person_thumbnails(WS, person.person_id, [thumbnails[1].thumbnail_id])
    assert [thumbnail.thumbnail_id for thumbnail in left] == [
        thumbnails[0].thumbnail_id,
        thumbnails[2].thumbnail_id,
    ]
    with pytest.raises(MediaIntelligenceApiError, match="HTTP 400"):
        hook.remove_person_thumbnails(WS, person.person_id, [thumbnail.thumbnail_id for thumbnail in left])


def test_merge_moves_the_thumbnails_and_removes_the_merged(hook, mi_emulator):
    target = hook.create_person(WS, [upload(hook, 7, 0)], name="Choi")
    duplicate = hook.create_person(WS, [upload(hook, 7, 1)], name="Choi (2)")
    assert [match.person_id for match in hook.similar_persons(WS, target.person_id)] == [duplicate.person_id]
    merged = hook.merge_persons(WS, target.person_id, [duplicate.person_id])
    assert (merged.person_id, merged.transferred_thumbnail_count) == (target.person_id, 1)
    assert len(hook.get_person(WS, target.person_id).thumbnails) == 2
    with pytest.raises(MediaIntelligenceApiError):
        hook.get_person(WS, duplicate.person_id)


def test_tags(hook, mi_emulator):
    person = hook.create_person(WS, [upload(hook, 8, 0)], name="Jung")
    anchor, singer = hook.create_person_tag(WS, "anchor"), hook.create_person_tag(WS, "singer")
    assert [tag.name for tag in hook.list_person_tags(WS)] == ["anchor", "singer"]
    assert {
        tag.name for tag in hook.add_person_tags(WS, person.person_id, [anchor.tag_id, singer.tag_id])
    } == {
        "anchor",
        "singer",
    }
    assert [tag.name for tag in hook.remove_person_tags(WS, person.person_id, [anchor.tag_id])] == ["singer"]
    assert hook.delete_person_tag(WS, anchor.tag_id).tag_id == anchor.tag_id


def test_a_name_already_taken_is_refused_by_the_api(hook, mi_emulator):
    hook.create_person(WS, [upload(hook, 9, 0)], name="Kang")
    with pytest.raises(MediaIntelligenceApiError, match="already used"):
        hook.create_person(WS, [upload(hook, 9, 1)], name="Kang")


def test_an_expired_thumbnail_key_is_refused_with_what_to_do(hook, mi_emulator):
    key = upload(hook, 10, 0)
    mi_emulator.state.advance(24 * 3600 + 1)
    with pytest.raises(MediaIntelligenceApiError, match="expired"):
        hook.create_person(WS, [key], name="Yoon")


def test_bad_arguments_are_refused_before_any_request(hook, mi_emulator):
    with pytest.raises(InvalidParameterError, match="score_threshold"):
        hook.compare_thumbnail(WS, "persons/thumbnails/x.jpg", score_threshold=50)
    with pytest.raises(InvalidParameterError, match="page_size"):
        hook.list_persons(WS, page_size=0)  # refused when called, not when first iterated
    assert mi_emulator.state.requests == []
