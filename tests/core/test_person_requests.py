"""The person side's requests: every documented rule refused before a request is built."""

from __future__ import annotations

import json
import re

import pytest

from airflow_provider_mi.core import person_requests as build
from airflow_provider_mi.core import rate_limit
from airflow_provider_mi.exceptions import InvalidParameterError

WS = "faces"
KEYS = ["persons/thumbnails/a.jpg", "persons/thumbnails/b.jpg"]


def body(request) -> dict:
    return json.loads(request.body)


def test_create_makes_the_first_thumbnail_primary_unless_told():
    request = build.create_person(WS, KEYS, name="Hong Gildong", description="A hero")
    assert (request.method, request.path, request.endpoint) == (
        "POST",
        "/api/v1/workspaces/faces/persons",
        rate_limit.PERSONS,
    )
    assert body(request) == {
        "thumbnails": [
            {"thumbnailKey": KEYS[0], "isPrimaryThumbnail": True},
            {"thumbnailKey": KEYS[1], "isPrimaryThumbnail": False},
        ],
        "name": "Hong Gildong",
        "description": "A hero",
    }
    chosen = body(build.create_person(WS, KEYS, primary_thumbnail_key=KEYS[1]))
    assert [item["isPrimaryThumbnail"] for item in chosen["thumbnails"]] == [False, True]
    assert "name" not in chosen, "no name: an anonymous person"


def test_adding_thumbnails_keeps_the_persons_primary_unless_one_is_named():
    kept = body(build.add_thumbnails(WS, 1001, KEYS))
    assert [item["isPrimaryThumbnail"] for item in kept["thumbnails"]] == [False, False]
    named = body(build.add_thumbnails(WS, "1001", KEYS, primary_thumbnail_key=KEYS[0]))
    assert [item["isPrimaryThumbnail"] for item in named["thumbnails"]] == [True, False]


def test_ids_go_as_numbers_in_bodies_and_as_text_in_paths():
    request = build.merge_persons(WS, 1001, ["1002", 1003])
    assert request.path == "/api/v1/workspaces/faces/persons/1001/merge"
    assert body(request) == {"personIds": [1002, 1003]}


def test_list_and_similar_put_their_arguments_in_the_signed_query():
    listing = build.list_persons(WS, 2, page_size=100, name="Hong", tag_ids=[1, 2])
    assert listing.path == "/api/v1/workspaces/faces/persons?name=Hong&pageNum=2&pageSize=100&tagIdList=1%2C2"
    similar = build.similar_persons(WS, 1001, person_count=5, score_threshold=90)
    assert similar.path == "/api/v1/workspaces/faces/persons/1001/similar?personCount=5&scoreThreshold=90"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: build.create_person(WS, []), "thumbnail_keys is empty"),
        (
            lambda: build.create_person(WS, "persons/thumbnails/a.jpg"),
            "give a list of uploaded thumbnail keys",
        ),
        (lambda: build.create_person(WS, [f"k{n}" for n in range(101)]), "at most 100 thumbnails"),
        (lambda: build.create_person(WS, KEYS, primary_thumbnail_key="other"), "is not among thumbnail_keys"),
        (lambda: build.create_person(WS, KEYS, name="   "), "name is empty"),
        (
            lambda: build.create_person(WS, KEYS, name="x" * 51),
            "name is 51 characters long; a person's name has at most 50",
        ),
        (lambda: build.create_person(WS, KEYS, description="x" * 701), "description is 701 characters long"),
        (lambda: build.update_person(WS, 1001), "Nothing to update"),
        (lambda: build.get_person(WS, "../1"), "person_id is '../1'"),
        (lambda: build.get_person(WS, True), "person_id is True"),
        (lambda: build.merge_persons(WS, 1001, [1001, 1002]), "holds the target person 1001 itself"),
        (
            lambda: build.merge_persons(WS, 1001, list(range(2000, 2011))),
            "has 11 ids; the API takes at most 10",
        ),
        (lambda: build.merge_persons(WS, 1001, []), "merged_person_ids is empty"),
        (
            lambda: build.compare_thumbnail(WS, KEYS[0], person_count=11),
            "person_count is 11; it must be a whole number from 1 to 10",
        ),
        (
            lambda: build.compare_thumbnail(WS, KEYS[0], score_threshold=79),
            "score_threshold is 79; it must be a whole number from 80 to 100",
        ),
        (lambda: build.similar_persons(WS, 1, score_threshold=101), "score_threshold is 101"),
        (lambda: build.list_persons(WS, 0), "page_num is 0"),
        (
            lambda: build.list_persons(WS, 1, page_size=1001),
            "page_size is 1001; it must be a whole number from 1 to 1000",
        ),
        (
            lambda: build.search_persons(WS, page_size=51),
            "page_size is 51; it must be a whole number from 1 to 50",
        ),
        (lambda: build.list_tags(WS, 1, page_size=51), "page_size is 51"),
        (lambda: build.list_persons(WS, 1, name="a"), "is 1 characters long; use 2 to 50"),
        (lambda: build.list_persons(WS, 1, name="Kim;DROP"), "contains ';', which the API refuses"),
        (lambda: build.search_persons(WS, name="a|b"), "contains '|'"),
        (lambda: build.search_persons(WS, name="a`b"), "contains '`'"),
        (lambda: build.list_persons(WS, 1, tag_ids=list(range(31))), "has 31 ids; the API takes at most 30"),
        (
            lambda: build.search_persons(WS, name_type="FAMOUS"),
            "name_type is 'FAMOUS'; use one of ['NAMED', 'ANONYMOUS']",
        ),
        (lambda: build.search_persons(WS, sort_type="UP"), "sort_type is 'UP'"),
        (lambda: build.create_tag(WS, "x" * 31), "a tag's name has at most 30"),
        (lambda: build.remove_thumbnails(WS, 1001, []), "thumbnail_ids is empty"),
        (lambda: build.add_tags(WS, 1001, "7"), "tag_ids is '7'; give a list of ids"),
        (lambda: build.get_person("Bad_WS", 1), "workspace_name 'Bad_WS' is not a valid workspace name"),
    ],
)
def test_each_rule_is_refused_naming_the_field_and_the_fix(call, message):
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        call()
