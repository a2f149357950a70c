"""Parsing the person side's results: documented fields typed, the rest kept, ids as text."""

from __future__ import annotations

import pytest

from airflow_provider_mi.core.persons import (
    MergeResult,
    Page,
    Person,
    PersonMatch,
    PersonTag,
    PersonThumbnail,
    parse_recommendations,
    parse_similar,
    parse_thumbnail_list,
)
from airflow_provider_mi.exceptions import MediaIntelligenceResponseError

CURRENT = {
    "personId": 1001,
    "name": "Hong Gildong",
    "description": None,
    "tags": [{"id": 100, "name": "anchor"}],
    "thumbnails": [{"id": 3001, "url": "https://x/y?sig=1", "isPrimaryThumbnail": True, "thumbnailKey": "k"}],
    "assetCount": 4,
    "somethingNew": {"nested": True},
}


def test_a_current_person_is_typed_and_kept_whole():
    person = Person.parse(CURRENT)
    assert person == Person(
        "1001",
        "Hong Gildong",
        None,
        (PersonThumbnail("3001", True, "https://x/y?sig=1", "k"),),
        (PersonTag("100", "anchor"),),
    )
    assert person.raw["somethingNew"] == {"nested": True}
    assert "sig=1" not in repr(person), "presigned URLs stay out of repr"


def test_an_older_person_with_id_and_string_ids_is_read_too():
    person = Person.parse({"id": "77", "name": "Kim", "tags": [], "thumbnails": [{"id": "5", "url": "u"}]})
    assert (person.person_id, person.thumbnails[0].thumbnail_id, person.thumbnails[0].is_primary) == (
        "77",
        "5",
        False,
    )


def test_an_anonymous_person_has_no_name():
    assert Person.parse({"personId": 1}).name is None


def test_a_person_without_an_id_is_an_unreadable_answer():
    with pytest.raises(MediaIntelligenceResponseError, match="no 'personId' or 'id'"):
        Person.parse({"name": "Kim"})


def test_a_page_knows_whether_it_is_the_last():
    result = {"content": [CURRENT], "totalCount": 3, "totalPage": 2, "pageNo": 1, "pageSize": 1}
    page = Page.parse(result, Person.parse)
    assert (len(page.items), page.total_count, page.is_last) == (1, 3, False)
    assert Page.parse({**result, "pageNo": 2}, Person.parse).is_last
    assert Page.parse({"content": []}, Person.parse).is_last


def test_matches_merges_and_thumbnail_lists():
    assert parse_recommendations({"recommendedPersons": [{"personId": 1, "name": "A", "score": 93}]}) == (
        PersonMatch("1", "A", 93),
    )
    assert parse_recommendations({}) == ()
    assert parse_similar({"personId": 1, "similarPersons": [{"personId": 2}]}) == (PersonMatch("2"),)
    merge = MergeResult.parse(
        {"personId": 1001, "transferredAssetCount": 3, "transferredThumbnailCount": 2, "mergedTime": "t"}
    )
    assert merge == MergeResult("1001", 3, 2, "t")
    assert parse_thumbnail_list(
        {"personId": 1, "thumbnailList": [{"id": 9, "isPrimaryThumbnail": True}]}
    ) == (PersonThumbnail("9", True),)
