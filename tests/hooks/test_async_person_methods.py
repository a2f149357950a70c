"""
The person methods of the async hook, over real HTTP to the emulator: the same declarations as the
sync hook's (one builder each), awaited; the listings async iterators; bad arguments refused first.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from airflow_provider_mi.emulator import MediaIntelligenceEmulator
from airflow_provider_mi.emulator.faces import face_image
from airflow_provider_mi.exceptions import InvalidParameterError, MediaIntelligenceApiError
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceAsyncHook, MediaIntelligenceHook

WS = "async-persons-ws"
T = TypeVar("T")


def run(use: Callable[[MediaIntelligenceAsyncHook], Awaitable[T]]) -> T:
    async def main() -> T:
        hook = MediaIntelligenceAsyncHook()
        try:
            return await use(hook)
        finally:
            await hook.close()

    return asyncio.run(main())


def uploaded_keys(count: int, person: int = 1) -> list[str]:
    hook = MediaIntelligenceHook()
    try:
        return [
            hook.upload_person_thumbnail(WS, f"a{person}-{n}.jpg", face_image(person, n)).thumbnail_key
            for n in range(count)
        ]
    finally:
        hook.close()


def test_create_get_compare_and_delete_a_person(mi_emulator: MediaIntelligenceEmulator):
    keys = uploaded_keys(2)

    async def use(hook: MediaIntelligenceAsyncHook) -> tuple[Any, ...]:
        person = await hook.create_person(WS, keys[:1], name="Async Ada", description="Awaited")
        fetched = await hook.get_person(WS, person.person_id)
        [match] = await hook.compare_thumbnail(WS, keys[1], person_count=1, score_threshold=90)
        deleted = await hook.delete_person(WS, person.person_id)
        return person, fetched, match, deleted

    person, fetched, match, deleted = run(use)
    assert (person.name, person.description) == ("Async Ada", "Awaited")
    assert fetched == person
    assert match.person_id == person.person_id and match.score >= 90
    assert deleted.person_id == person.person_id
    assert mi_emulator.state.persons(WS) == []


def test_listings_are_async_iterators_page_after_page(mi_emulator: MediaIntelligenceEmulator):
    keys = uploaded_keys(3, person=2)

    async def use(hook: MediaIntelligenceAsyncHook) -> tuple[list[str], list[str]]:
        created = [await hook.create_person(WS, [key], name=f"Paged {n}") for n, key in enumerate(keys)]
        for number in range(3):
            await hook.create_person_tag(WS, f"tag-{number}")
        listed = [person.person_id async for person in hook.list_persons(WS, page_size=2)]
        tags = [tag.name async for tag in hook.list_person_tags(WS, page_size=1)]
        assert listed == [person.person_id for person in created]
        return listed, tags

    _, tags = run(use)
    assert tags == ["tag-0", "tag-1", "tag-2"]
    pages = [entry.endpoint for entry in mi_emulator.state.requests if entry.method == "GET"]
    assert pages.count("list-persons") == 2 and pages.count("list-tags") == 3


def test_the_api_s_refusal_is_raised_as_on_the_sync_hook(mi_emulator: MediaIntelligenceEmulator):
    with pytest.raises(MediaIntelligenceApiError, match="does not exist"):
        run(lambda hook: hook.get_person(WS, 999999))


@pytest.mark.parametrize(
    ("use", "message"),
    [
        (lambda hook: hook.create_person(WS, [], name="Nobody"), "thumbnail_keys is empty"),
        (lambda hook: hook.create_person(WS, ["k.jpg"], name="x" * 51), "a person's name has at most 50"),
        (lambda hook: hook.compare_thumbnail(WS, "k.jpg", score_threshold=79), "score_threshold is 79"),
        (lambda hook: hook.merge_persons(WS, 1001, [1001]), "holds the target person 1001 itself"),
        (lambda hook: hook.get_person("../admin", 1001), "workspace_name '../admin' is not a valid"),
        (lambda hook: anext(hook.list_persons(WS, name="a;b")), "which the API refuses"),
        (lambda hook: anext(hook.list_person_tags(WS, page_size=51)), "page_size is 51"),
    ],
    ids=["no-thumbnails", "long-name", "low-threshold", "merge-itself", "bad-workspace", "filter", "page"],
)
def test_bad_arguments_are_refused_before_any_request(mi_emulator: MediaIntelligenceEmulator, use, message):
    with pytest.raises(InvalidParameterError, match=message):
        run(use)
    assert mi_emulator.state.requests == []
