"""The emulator's person API over real sockets on 127.0.0.1: signed requests, as a client sends them."""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import requests
from PIL import Image

from airflow_provider_mi.core.signing import signed_headers
from airflow_provider_mi.emulator import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_SECRET_KEY,
    MediaIntelligenceEmulator,
    faults,
)
from airflow_provider_mi.emulator.faces import face_image
from airflow_provider_mi.emulator.state import WRITE_ENDPOINTS, parse_rate_limit

TIMEOUT = 10
WORKSPACE = "people"
DAY = 24 * 3600
PERSON_FIELDS = {
    "personId",
    "id",
    "name",
    "description",
    "tags",
    "thumbnails",
    "assetCount",
    "sceneCount",
    "createdTime",
    "updatedTime",
}


@functools.cache
def face(seed: int, variant: int = 0) -> bytes:
    return face_image(seed, variant, size=256)


class Api:
    """Signed calls to one emulator's workspace, signed with the gateway's clock (the real one)."""

    def __init__(self, http: requests.Session, emulator: MediaIntelligenceEmulator) -> None:
        self.http, self.emulator = http, emulator

    def send(
        self, method: str, path: str, body: Any = None, *, raw: bytes | None = None
    ) -> requests.Response:
        uri = f"/api/v1/workspaces/{WORKSPACE}{path}"
        timestamp_ms = int(self.emulator.state.gateway_now() * 1000)
        headers = signed_headers(
            method, uri, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, timestamp_ms=timestamp_ms
        )
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if data is not None:
            headers["Content-Type"] = "application/json"
        return self.http.request(method, self.emulator.url + uri, data=data, headers=headers, timeout=TIMEOUT)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        response = self.send(method, path, body)
        assert response.status_code == 200, response.text
        envelope = response.json()
        assert (envelope["code"], envelope["message"]) == ("0", "success")
        return envelope["result"]

    def refused(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None) -> str:
        """Send a request the API must refuse (400, 10001); return the message after "Invalid Request. "."""
        response = self.send(method, path, body, raw=raw)
        assert response.status_code == 400, response.text
        envelope = response.json()
        assert set(envelope) == {"code", "message"}
        assert envelope["code"] == "10001"
        assert envelope["message"].startswith("Invalid Request. ")
        return str(envelope["message"]).removeprefix("Invalid Request. ")

    def upload(self, data: bytes, file_name: str = "face.jpg") -> str:
        """Upload through a presigned URL, as a client does; return the thumbnail key."""
        presigned = self.ok(
            "POST", "/person-thumbnail/uploads/presigned-url", {"thumbnailFileName": file_name}
        )
        assert self.http.put(presigned["url"], data=data, timeout=TIMEOUT).status_code == 200
        return str(presigned["thumbnailKey"])

    def create(self, *images: bytes, name: str | None = None, **fields: Any) -> dict[str, Any]:
        """Register a person with these pictures (the first one primary)."""
        thumbnails = [
            {"thumbnailKey": self.upload(image), "isPrimaryThumbnail": number == 0}
            for number, image in enumerate(images)
        ]
        return dict(self.ok("POST", "/persons", {"name": name, "thumbnails": thumbnails, **fields}))

    def stored_keys(self, count: int, prefix: str = "k") -> list[dict[str, Any]]:
        """``count`` thumbnails stored without an upload (valid ones), as a create's ``thumbnails``."""
        keys = [f"persons/thumbnails/{prefix}-{number}.png" for number in range(count)]
        self.emulator.state.store_thumbnails(WORKSPACE, keys)
        return [{"thumbnailKey": key, "isPrimaryThumbnail": number == 0} for number, key in enumerate(keys)]


@pytest.fixture
def emulator() -> Iterator[MediaIntelligenceEmulator]:
    with MediaIntelligenceEmulator() as running:
        yield running


@pytest.fixture
def api(emulator: MediaIntelligenceEmulator) -> Iterator[Api]:
    with requests.Session() as http:
        http.trust_env = False  # never through a proxy: 127.0.0.1 only
        yield Api(http, emulator)


def small_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (100, 300), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


# --- persons --------------------------------------------------------------------------------------


def test_create_returns_the_person_and_get_returns_the_same(api, emulator):
    key_a, key_b = api.upload(face(0)), api.upload(face(0, 1))
    body = {
        "name": "Kim",
        "description": "A made-up person.",
        "thumbnails": [
            {"thumbnailKey": key_a, "isPrimaryThumbnail": False},
            {"thumbnailKey": key_b, "isPrimaryThumbnail": True},
        ],
    }
    person = api.ok("POST", "/persons", body)
    assert set(person) == PERSON_FIELDS
    assert (person["personId"], person["id"], person["name"], person["description"]) == (
        1001,
        1001,
        "Kim",
        "A made-up person.",
    )
    assert (person["tags"], person["assetCount"], person["sceneCount"]) == ([], 0, 0)
    assert person["thumbnails"] == [
        {
            "id": 3001,
            "thumbnailKey": key_a,
            "url": f"{emulator.url}/_emulator/thumbnails/3001",
            "isPrimaryThumbnail": False,
        },
        {
            "id": 3002,
            "thumbnailKey": key_b,
            "url": f"{emulator.url}/_emulator/thumbnails/3002",
            "isPrimaryThumbnail": True,
        },
    ]
    created = datetime.fromisoformat(person["createdTime"])
    assert created.utcoffset() is not None
    assert abs(created.timestamp() - emulator.state.now()) < 5
    assert person["updatedTime"] == person["createdTime"]

    image = api.http.get(person["thumbnails"][0]["url"], timeout=TIMEOUT)
    assert (image.status_code, image.headers["Content-Type"], image.content) == (200, "image/jpeg", face(0))
    assert api.ok("GET", "/persons/1001") == person
    [stored] = emulator.state.persons(WORKSPACE)
    assert (stored.person_id, stored.name, [t.key for t in stored.thumbnails]) == (
        1001,
        "Kim",
        [key_a, key_b],
    )
    assert emulator.state.persons("elsewhere") == []


def test_anonymous_persons_may_be_many(api):
    first = api.create(face(0))
    second = api.ok("POST", "/persons", {"thumbnails": api.stored_keys(1), "description": "  "})
    # Only names may not be blank: a description of spaces is 2 characters long.
    assert (first["name"], first["description"], second["name"], second["description"]) == (
        None,
        None,
        None,
        "  ",
    )
    assert second["personId"] == first["personId"] + 1


def test_update_changes_what_is_given_and_delete_returns_the_person_as_it_was(api, emulator):
    person = api.create(face(0), face(0, 1), name="Kim", description="before")
    second_thumbnail = person["thumbnails"][1]["id"]
    emulator.state.advance(60)
    updated = api.ok(
        "PATCH", "/persons/1001", {"description": "after", "primaryThumbnailId": second_thumbnail}
    )
    assert (updated["name"], updated["description"]) == ("Kim", "after")
    assert [t["isPrimaryThumbnail"] for t in updated["thumbnails"]] == [False, True]
    assert datetime.fromisoformat(updated["updatedTime"]) > datetime.fromisoformat(person["createdTime"])
    assert updated["createdTime"] == person["createdTime"]
    assert api.ok("PATCH", "/persons/1001", {"name": "Kim"})["name"] == "Kim"  # its own name is no clash

    assert api.refused("PATCH", "/persons/1001", {"primaryThumbnailId": 9999}) == (
        "Thumbnail 9999 is not a thumbnail of person 1001."
    )
    api.create(face(1), name="Lee")
    assert api.refused("PATCH", "/persons/1001", {"name": "Lee"}) == (
        "The name 'Lee' is already used in the workspace."
    )
    assert "name must not be blank" in api.refused("PATCH", "/persons/1001", {"name": " "})

    before = api.ok("GET", "/persons/1001")
    deleted = api.ok("DELETE", "/persons/1001")
    assert deleted == before
    assert deleted["description"] == "after"
    assert api.refused("GET", "/persons/1001") == "Person 1001 does not exist."
    assert api.http.get(deleted["thumbnails"][0]["url"], timeout=TIMEOUT).status_code == 404
    assert api.http.get(f"{emulator.url}/_emulator/thumbnails/x", timeout=TIMEOUT).status_code == 404
    assert [p.person_id for p in emulator.state.persons(WORKSPACE)] == [1002]
    # Deleting frees its name, but not its thumbnail keys.
    reused = [{"thumbnailKey": deleted["thumbnails"][0]["thumbnailKey"], "isPrimaryThumbnail": True}]
    assert api.refused("POST", "/persons", {"name": "Kim", "thumbnails": reused}) == (
        f"Thumbnail key {reused[0]['thumbnailKey']!r} is already registered to person 1001."
    )
    assert api.create(face(2), name="Kim")["name"] == "Kim"


def one_thumbnail(api: Api) -> list[dict[str, Any]]:
    return api.stored_keys(1, prefix="one")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": ""}, "name must be 1 to 50 characters long, got 0."),
        ({"name": "   "}, "name must not be blank, got '   '."),
        ({"name": "x" * 51}, "name must be 1 to 50 characters long, got 51."),
        ({"name": 7}, "name must be a text, got 7."),
        ({"description": "x" * 701}, "description must be 1 to 700 characters long, got 701."),
        ({"description": ""}, "description must be 1 to 700 characters long, got 0."),
        ({"thumbnails": None}, "thumbnails is required."),
        ({"thumbnails": []}, "thumbnails must hold 1 to 100 thumbnails, got 0."),
        ({"thumbnails": "k"}, "thumbnails must be a list of {thumbnailKey, isPrimaryThumbnail}, got 'k'."),
        (
            {"thumbnails": [{"thumbnailKey": "k"}]},
            "thumbnails[0].isPrimaryThumbnail must be true or false, got None.",
        ),
        (
            {"thumbnails": [{"isPrimaryThumbnail": True}]},
            "thumbnails[0].thumbnailKey must be a thumbnail key, got None.",
        ),
        (
            {"thumbnails": ["k"]},
            "thumbnails[0] must be an object {thumbnailKey, isPrimaryThumbnail}, got 'k'.",
        ),
        ({"nmae": "Kim"}, "Unknown field 'nmae'; this endpoint takes ['description', 'name', 'thumbnails']."),
    ],
)
def test_create_refuses_what_breaks_a_rule(api, emulator, change, message):
    body = {"name": "Kim", "thumbnails": one_thumbnail(api)} | change
    assert api.refused("POST", "/persons", {k: v for k, v in body.items() if v is not None}) == message
    assert emulator.state.persons(WORKSPACE) == []


def test_create_refuses_bad_thumbnail_sets(api, emulator):
    many = api.stored_keys(101)
    assert api.refused("POST", "/persons", {"thumbnails": many}) == (
        "thumbnails must hold 1 to 100 thumbnails, got 101."
    )
    two = [dict(entry, isPrimaryThumbnail=True) for entry in many[:2]]
    assert api.refused("POST", "/persons", {"thumbnails": two}) == (
        "Exactly one of thumbnails must have isPrimaryThumbnail true, got 2."
    )
    none = [dict(entry, isPrimaryThumbnail=False) for entry in many[:2]]
    assert "got 0" in api.refused("POST", "/persons", {"thumbnails": none})
    twice = [many[0], dict(many[0], isPrimaryThumbnail=False)]
    assert api.refused("POST", "/persons", {"thumbnails": twice}) == (
        f"Thumbnail key {many[0]['thumbnailKey']!r} is given twice."
    )
    assert api.refused("POST", "/persons", raw=b"not json") == "The body must be a JSON object."
    assert api.refused("POST", "/persons", raw=b"[]") == "The body must be a JSON object."
    assert api.ok("POST", "/persons", {"thumbnails": many[:100]})["thumbnails"][99]["id"] == 3100
    assert len(emulator.state.persons(WORKSPACE)) == 1


def test_a_thumbnail_key_must_be_an_uploaded_valid_unused_one(api):
    def create(key: str) -> str:
        return api.refused(
            "POST", "/persons", {"thumbnails": [{"thumbnailKey": key, "isPrimaryThumbnail": True}]}
        )

    assert create("persons/thumbnails/never.jpg") == (
        "Thumbnail key 'persons/thumbnails/never.jpg' is not an uploaded thumbnail."
    )
    presigned = api.ok("POST", "/person-thumbnail/uploads/presigned-url", {"thumbnailFileName": "a.jpg"})
    assert "is not an uploaded thumbnail" in create(presigned["thumbnailKey"])  # issued, never uploaded
    small = api.upload(small_png(), "small.png")
    assert create(small) == (
        f"Thumbnail key {small!r} failed upload completion (RESOLUTION_NOT_SUPPORT); upload a valid image."
    )
    used = api.create(face(0))["thumbnails"][0]["thumbnailKey"]
    assert create(used) == f"Thumbnail key {used!r} is already registered to person 1001."


def test_a_thumbnail_of_another_workspace_or_not_yet_visible_is_not_uploaded(api, emulator):
    emulator.state.store_thumbnail("other-ws", "persons/thumbnails/there.jpg", face(0))
    emulator.state.store_thumbnail(WORKSPACE, "persons/thumbnails/later.jpg", face(0), delay=600)
    for key in ("persons/thumbnails/there.jpg", "persons/thumbnails/later.jpg"):
        body = {"thumbnails": [{"thumbnailKey": key, "isPrimaryThumbnail": True}]}
        assert api.refused("POST", "/persons", body) == f"Thumbnail key {key!r} is not an uploaded thumbnail."
    emulator.state.advance(600)
    body = {"thumbnails": [{"thumbnailKey": "persons/thumbnails/later.jpg", "isPrimaryThumbnail": True}]}
    assert api.ok("POST", "/persons", body)["personId"] == 1001


def test_thumbnail_keys_expire_24_hours_after_upload_on_the_advanced_clock(api, emulator):
    early, late = api.upload(face(0)), api.upload(face(1))
    emulator.state.advance(DAY - 5)
    body = {"thumbnails": [{"thumbnailKey": early, "isPrimaryThumbnail": True}]}
    assert api.ok("POST", "/persons", body)["personId"] == 1001
    response = api.http.post(f"{emulator.url}/_emulator/advance", json={"seconds": 5}, timeout=TIMEOUT)
    assert response.json()["advanced"] == DAY
    expired = f"Thumbnail key {late!r} has expired (24 hours after upload); upload it again."
    body = {"thumbnails": [{"thumbnailKey": late, "isPrimaryThumbnail": True}]}
    assert api.refused("POST", "/persons", body) == expired
    assert api.refused("POST", "/persons/1001/person-thumbnail", body) == expired
    assert api.refused("POST", "/persons/recommend-by-thumbnail", {"thumbnailKey": late}) == expired
    fresh = api.upload(face(1))  # a new upload is fresh on the advanced clock
    assert api.ok("POST", "/persons/recommend-by-thumbnail", {"thumbnailKey": fresh}) == {
        "recommendedPersons": []
    }


def test_advancing_the_clock_also_expires_presigned_urls_but_not_signatures(api, emulator):
    presigned = api.ok("POST", "/person-thumbnail/uploads/presigned-url", {"thumbnailFileName": "a.jpg"})
    emulator.state.advance(900)
    response = api.http.put(presigned["url"], data=face(0), timeout=TIMEOUT)
    assert (response.status_code, response.text) == (403, "AccessDenied: upload URL expired")
    # Signed with the real time, 15 minutes behind the API's clock now: the gateway still accepts it.
    assert api.ok("GET", "/persons?pageNum=1")["totalCount"] == 0


@pytest.mark.parametrize(
    "body", [b"{}", b'{"seconds": -1}', b'{"seconds": "soon"}', b"no", b'{"seconds": true}']
)
def test_the_advance_route_wants_a_non_negative_number(api, emulator, body):
    response = api.http.post(f"{emulator.url}/_emulator/advance", data=body, timeout=TIMEOUT)
    assert response.status_code == 400
    assert "seconds" in response.json()["error"]
    response = api.http.post(f"{emulator.url}/_emulator/advance", json={"seconds": 0}, timeout=TIMEOUT)
    assert response.json()["advanced"] == 0


# --- thumbnails -----------------------------------------------------------------------------------


def test_add_thumbnails_returns_every_thumbnail_and_a_new_primary_demotes_the_old(api):
    api.create(face(0))
    plain = api.ok(
        "POST",
        "/persons/1001/person-thumbnail",
        {"thumbnails": [{"thumbnailKey": api.upload(face(0, 1)), "isPrimaryThumbnail": False}]},
    )
    assert set(plain) == {"personId", "thumbnailList"}
    assert plain["personId"] == 1001
    assert [(t["id"], t["isPrimaryThumbnail"]) for t in plain["thumbnailList"]] == [
        (3001, True),
        (3002, False),
    ]
    key = api.upload(face(0, 2))
    primary = api.ok(
        "POST",
        "/persons/1001/person-thumbnail",
        {"thumbnails": [{"thumbnailKey": key, "isPrimaryThumbnail": True}]},
    )
    assert [(t["id"], t["isPrimaryThumbnail"]) for t in primary["thumbnailList"]] == [
        (3001, False),
        (3002, False),
        (3003, True),
    ]
    assert primary["thumbnailList"][2]["thumbnailKey"] == key
    assert api.ok("GET", "/persons/1001")["thumbnails"] == primary["thumbnailList"]

    two = [dict(entry, isPrimaryThumbnail=True) for entry in api.stored_keys(2)]
    assert api.refused("POST", "/persons/1001/person-thumbnail", {"thumbnails": two}) == (
        "At most one of thumbnails may have isPrimaryThumbnail true, got 2."
    )


def test_a_person_has_at_most_100_thumbnails_in_all(api):
    api.ok("POST", "/persons", {"thumbnails": api.stored_keys(99)})
    one_more = [dict(entry, isPrimaryThumbnail=False) for entry in api.stored_keys(2, prefix="more")]
    assert api.refused("POST", "/persons/1001/person-thumbnail", {"thumbnails": one_more}) == (
        "Person 1001 would have 101 thumbnails; a person has at most 100."
    )
    assert (
        len(api.ok("POST", "/persons/1001/person-thumbnail", {"thumbnails": one_more[:1]})["thumbnailList"])
        == 100
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [("DELETE", "/persons/1001/person-thumbnail"), ("POST", "/persons/1001/person-thumbnail/remove")],
    ids=["DELETE", "POST-remove"],
)
def test_remove_thumbnails_returns_what_remains_ignores_unknown_ids_and_keeps_one(
    api, emulator, method, path
):
    api.create(face(0), face(0, 1), face(0, 2))
    left = api.ok(method, path, {"thumbnailIds": [3001, 9999]})
    assert set(left) == {"personId", "thumbnailList"}
    assert left["personId"] == 1001
    # The primary one went: the oldest left takes over.
    assert [(t["id"], t["isPrimaryThumbnail"]) for t in left["thumbnailList"]] == [
        (3002, True),
        (3003, False),
    ]
    assert api.refused(method, path, {"thumbnailIds": [3002, 3003]}) == (
        "thumbnailIds would remove every thumbnail of person 1001; a person keeps at least one."
    )
    assert api.refused(method, path, {"thumbnailIds": []}) == "thumbnailIds must hold 1 to 1000 ids, got 0."
    assert (
        api.refused(method, path, {"thumbnailIds": ["3002"]})
        == "Each of thumbnailIds must be a whole number, got '3002'."
    )
    assert api.refused(method, path, {}) == "thumbnailIds is required."
    assert len(emulator.state.persons(WORKSPACE)[0].thumbnails) == 2
    assert [entry.endpoint for entry in emulator.state.requests[-5:]] == ["remove-thumbnails"] * 5


# --- merge ----------------------------------------------------------------------------------------


def test_merge_moves_thumbnails_and_tags_and_removes_the_merged_persons(api, emulator):
    tag = api.ok("POST", "/person-tags", {"name": "anchor"})
    api.create(face(0), name="Kim")
    api.create(face(1), face(1, 1), name="Lee")
    api.create(face(2))
    api.ok("POST", "/persons/1002/person-tags", {"tagIds": [tag["id"]]})
    emulator.state.advance(30)

    merged = api.ok("POST", "/persons/1001/merge", {"personIds": [1002, 1003]})
    assert set(merged) == {"personId", "transferredAssetCount", "transferredThumbnailCount", "mergedTime"}
    assert (merged["personId"], merged["transferredAssetCount"], merged["transferredThumbnailCount"]) == (
        1001,
        0,
        3,
    )
    assert abs(datetime.fromisoformat(merged["mergedTime"]).timestamp() - emulator.state.now()) < 5

    for gone in (1002, 1003):
        assert api.refused("GET", f"/persons/{gone}") == f"Person {gone} does not exist."
    target = api.ok("GET", "/persons/1001")
    assert [(t["id"], t["isPrimaryThumbnail"]) for t in target["thumbnails"]] == [
        (3001, True),
        (3002, False),
        (3003, False),
        (3004, False),
    ]
    assert target["tags"] == [tag]
    assert [p.person_id for p in emulator.state.persons(WORKSPACE)] == [1001]
    assert api.refused("POST", "/persons/1001/merge", {"personIds": [1002]}) == (
        "Person 1002 was already merged into person 1001."
    )
    # A merged person's name is free again; its thumbnail keys now belong to the target.
    assert api.create(face(3), name="Lee")["name"] == "Lee"
    moved_key = target["thumbnails"][1]["thumbnailKey"]
    body = {"thumbnails": [{"thumbnailKey": moved_key, "isPrimaryThumbnail": True}]}
    assert (
        api.refused("POST", "/persons", body)
        == f"Thumbnail key {moved_key!r} is already registered to person 1001."
    )


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (
            "/persons/1001/merge",
            {"personIds": [1001]},
            "personIds must not hold the target person 1001 itself.",
        ),
        ("/persons/1001/merge", {"personIds": [1002, 1002]}, "personIds holds 1002 twice."),
        ("/persons/1001/merge", {"personIds": [4242]}, "Person 4242 does not exist."),
        ("/persons/4242/merge", {"personIds": [1002]}, "Person 4242 does not exist."),
        ("/persons/1001/merge", {"personIds": []}, "personIds must hold 1 to 10 ids, got 0."),
        (
            "/persons/1001/merge",
            {"personIds": list(range(2000, 2011))},
            "personIds must hold 1 to 10 ids, got 11.",
        ),
        ("/persons/1001/merge", {}, "personIds is required."),
        ("/persons/1001/merge", {"personIds": 1002}, "personIds must be a list of ids, got 1002."),
    ],
)
def test_merge_refuses_what_breaks_a_rule(api, emulator, path, body, message):
    api.ok("POST", "/persons", {"thumbnails": api.stored_keys(1, prefix="a")})
    api.ok("POST", "/persons", {"thumbnails": api.stored_keys(1, prefix="b")})
    assert api.refused("POST", path, body) == message
    assert [len(p.thumbnails) for p in emulator.state.persons(WORKSPACE)] == [1, 1]


def test_merge_refuses_to_make_a_person_of_more_than_100_thumbnails(api):
    api.ok("POST", "/persons", {"thumbnails": api.stored_keys(60, prefix="a")})
    api.ok("POST", "/persons", {"thumbnails": api.stored_keys(41, prefix="b")})
    assert api.refused("POST", "/persons/1001/merge", {"personIds": [1002]}) == (
        "Person 1001 would have 101 thumbnails; a person has at most 100."
    )
    assert api.ok("GET", "/persons/1002")["personId"] == 1002


# --- compare and similar --------------------------------------------------------------------------


def five_people(api: Api) -> list[int]:
    """Persons of the made-up people 0 to 4, one reference picture each, named after their seed."""
    return [api.create(face(seed), name=f"Person {seed}")["personId"] for seed in range(5)]


def test_compare_finds_the_person_of_another_picture_and_no_one_else(api):
    ids = five_people(api)
    for seed in range(5):
        key = api.upload(face(seed, 3))
        found = api.ok("POST", "/persons/recommend-by-thumbnail", {"thumbnailKey": key})["recommendedPersons"]
        assert [(p["personId"], p["name"]) for p in found] == [(ids[seed], f"Person {seed}")]
        assert 90 <= found[0]["score"] <= 100
    stranger = api.upload(face(9))
    assert api.ok("POST", "/persons/recommend-by-thumbnail", {"thumbnailKey": stranger}) == {
        "recommendedPersons": []
    }


def test_compare_sorts_by_score_and_keeps_person_count(api):
    five_people(api)
    twin = api.create(face(2, 5))["personId"]  # another person, pictured like person 2
    key = api.upload(face(2))
    found = api.ok("POST", "/persons/recommend-by-thumbnail", {"thumbnailKey": key, "personCount": 10})
    scored = [(p["personId"], p["score"]) for p in found["recommendedPersons"]]
    assert [person for person, _ in scored] == [1003, twin]
    assert scored[0][1] == 100 >= scored[1][1] >= 90
    one = api.ok("POST", "/persons/recommend-by-thumbnail", {"thumbnailKey": key, "personCount": 1})
    assert [p["personId"] for p in one["recommendedPersons"]] == [1003]
    exact = api.ok("POST", "/persons/recommend-by-thumbnail", {"thumbnailKey": key, "scoreThreshold": 100})
    assert {p["score"] for p in exact["recommendedPersons"]} == {100}
    assert exact["recommendedPersons"][0]["personId"] == 1003


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"personCount": 0}, "personCount must be from 1 to 10, got 0."),
        ({"personCount": 11}, "personCount must be from 1 to 10, got 11."),
        ({"personCount": 2.5}, "personCount must be a whole number, got 2.5."),
        ({"scoreThreshold": 79}, "scoreThreshold must be from 80 to 100, got 79."),
        ({"scoreThreshold": 101}, "scoreThreshold must be from 80 to 100, got 101."),
        ({"thumbnailKey": None}, "thumbnailKey is required."),
        (
            {"thumbnailKey": "persons/thumbnails/x.jpg"},
            "Thumbnail key 'persons/thumbnails/x.jpg' is not an uploaded thumbnail.",
        ),
    ],
)
def test_compare_refuses_what_breaks_a_rule(api, change, message):
    body = {"thumbnailKey": api.stored_keys(1)[0]["thumbnailKey"]} | change
    assert api.refused("POST", "/persons/recommend-by-thumbnail", body) == message


def test_similar_finds_the_other_persons_alike_not_the_person_itself(api):
    ids = five_people(api)
    twin = api.create(face(2, 4), face(7), name="Twin")["personId"]
    similar = api.ok("GET", f"/persons/{ids[2]}/similar")
    assert set(similar) == {"personId", "similarPersons"}
    assert similar["personId"] == ids[2]
    [match] = similar["similarPersons"]
    assert (match["personId"], match["name"]) == (twin, "Twin")
    assert match["score"] >= 90
    # The twin's best thumbnail counts; its other picture (person 7) is like no one.
    assert [
        p["personId"] for p in api.ok("GET", f"/persons/{twin}/similar?personCount=1")["similarPersons"]
    ] == [ids[2]]
    assert (
        api.ok("GET", f"/persons/{ids[0]}/similar?personCount=10&scoreThreshold=80")["similarPersons"] == []
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?personCount=0", "personCount must be from 1 to 10, got 0."),
        ("?scoreThreshold=70", "scoreThreshold must be from 80 to 100, got 70."),
        ("?scoreThreshold=high", "scoreThreshold must be a whole number, got 'high'."),
        ("?count=3", "Unknown field 'count'; this endpoint takes ['personCount', 'scoreThreshold']."),
        (
            "?personCount=1&personCount=2",
            "personCount is given twice; give it once (separate ids with commas).",
        ),
    ],
)
def test_similar_refuses_what_breaks_a_rule(api, query, message):
    api.create(face(0))
    assert api.refused("GET", f"/persons/1001/similar{query}") == message


# --- every route of a person ----------------------------------------------------------------------

#: Every route of one person, with a body that is valid but for the unknown person.
PERSON_ROUTES = [
    ("GET", "", None),
    ("PATCH", "", {"name": "Kim"}),
    ("DELETE", "", None),
    ("POST", "/merge", {"personIds": [1001]}),
    (
        "POST",
        "/person-thumbnail",
        {"thumbnails": [{"thumbnailKey": "persons/thumbnails/a.png", "isPrimaryThumbnail": True}]},
    ),
    ("DELETE", "/person-thumbnail", {"thumbnailIds": [3001]}),
    ("POST", "/person-thumbnail/remove", {"thumbnailIds": [3001]}),
    ("GET", "/similar", None),
    ("POST", "/person-tags", {"tagIds": [101]}),
    ("DELETE", "/person-tags", {"tagIds": [101]}),
    ("POST", "/person-tags/remove", {"tagIds": [101]}),
]


@pytest.mark.parametrize(("method", "suffix", "body"), PERSON_ROUTES)
def test_every_person_route_refuses_an_unknown_person_and_a_non_digit_id(api, emulator, method, suffix, body):
    emulator.state.store_thumbnails(WORKSPACE, ["persons/thumbnails/a.png"])
    api.ok("POST", "/person-tags", {"name": "tag"})
    assert api.refused(method, f"/persons/4242{suffix}", body) == "Person 4242 does not exist."
    assert api.refused(method, f"/persons/12a{suffix}", body) == (
        "person_id must be a whole number (digits only), got '12a'."
    )


def test_an_unknown_workspace_is_the_404_envelope_and_requests_are_signed():
    with MediaIntelligenceEmulator(workspaces={"people"}) as emulator, requests.Session() as http:
        http.trust_env = False
        api = Api(http, emulator)
        assert api.ok("GET", "/persons?pageNum=1")["totalCount"] == 0
        uri = "/api/v1/workspaces/ghosts/persons?pageNum=1"
        headers = signed_headers("GET", uri, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)
        response = http.get(emulator.url + uri, headers=headers, timeout=TIMEOUT)
        assert (response.status_code, response.json()) == (
            404,
            {"code": "10001", "message": "Invalid Request. Workspace 'ghosts' does not exist."},
        )
        unsigned = http.post(emulator.url + "/api/v1/workspaces/people/persons", json={}, timeout=TIMEOUT)
        assert unsigned.status_code == 401
        assert unsigned.json()["error"]["errorCode"] == "200"
        assert [(r.endpoint, r.status) for r in emulator.state.requests] == [
            ("list-persons", 200),
            ("list-persons", 404),
            ("create-person", 401),
        ]


# --- list and search ------------------------------------------------------------------------------


def named_persons(api: Api) -> dict[str, int]:
    """Five persons, ``Kim A``, ``Lee B``, ``kim C``, an anonymous one and ``Park D``: name -> id."""
    ids = {}
    for number, name in enumerate(["Kim A", "Lee B", "kim C", None, "Park D"]):
        body = {"name": name, "thumbnails": api.stored_keys(1, prefix=f"p{number}")}
        ids[str(name)] = api.ok("POST", "/persons", body)["personId"]
    return ids


def names(page: dict[str, Any]) -> list[str | None]:
    return [person["name"] for person in page["content"]]


def test_list_persons_pages_by_id_and_filters(api):
    ids = named_persons(api)
    first = api.ok("GET", "/persons?pageNum=1&pageSize=2")
    assert set(first) == {"content", "totalCount", "totalPage", "pageNo", "pageSize"}
    assert (first["totalCount"], first["totalPage"], first["pageNo"], first["pageSize"]) == (5, 3, 1, 2)
    assert names(first) == ["Kim A", "Lee B"]
    assert set(first["content"][0]) == PERSON_FIELDS
    assert names(api.ok("GET", "/persons?pageNum=3&pageSize=2")) == ["Park D"]
    assert api.ok("GET", "/persons?pageNum=4&pageSize=2")["content"] == []
    everyone = api.ok("GET", "/persons?pageNum=1")
    assert (everyone["pageSize"], everyone["totalPage"], names(everyone)) == (
        1000,
        1,
        ["Kim A", "Lee B", "kim C", None, "Park D"],
    )
    assert names(api.ok("GET", "/persons?pageNum=1&name=KIM")) == ["Kim A", "kim C"]

    tag = api.ok("POST", "/person-tags", {"name": "cast"})["id"]
    other = api.ok("POST", "/person-tags", {"name": "crew"})["id"]
    api.ok("POST", f"/persons/{ids['Lee B']}/person-tags", {"tagIds": [tag]})
    api.ok("POST", f"/persons/{ids['Park D']}/person-tags", {"tagIds": [other]})
    assert names(api.ok("GET", f"/persons?pageNum=1&tagIdList={tag}")) == ["Lee B"]
    assert names(api.ok("GET", f"/persons?pageNum=1&tagIdList={tag},{other}")) == ["Lee B", "Park D"]
    assert names(api.ok("GET", f"/persons?pageNum=1&tagIdList={tag}&name=Le")) == ["Lee B"]
    empty = api.ok("GET", "/persons?pageNum=1&name=nobody")
    assert (empty["totalCount"], empty["totalPage"], empty["content"]) == (0, 0, [])


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "pageNum is required."),
        ("?pageNum=0", "pageNum must be from 1 to 2147483647, got 0."),
        ("?pageNum=-1", "pageNum must be a whole number, got '-1'."),
        ("?pageNum=1&pageSize=1001", "pageSize must be from 1 to 1000, got 1001."),
        ("?pageNum=1&pageSize=0", "pageSize must be from 1 to 1000, got 0."),
        ("?pageNum=1&name=K", "name must be 2 to 50 characters long, got 1."),
        ("?pageNum=1&name=" + "x" * 51, "name must be 2 to 50 characters long, got 51."),
        ("?pageNum=1&name=Kim%3Bdrop", "name must not contain ;, got 'Kim;drop'."),
        ("?pageNum=1&name=a%7Cb%60", "name must not contain ` |, got 'a|b`'."),
        ("?pageNum=1&tagIdList=" + ",".join(map(str, range(31))), "tagIdList must hold 1 to 30 ids, got 31."),
        ("?pageNum=1&tagIdList=a,b", "Each of tagIdList must be a whole number, got 'a'."),
        (
            "?pageNum=1&tagIdList=1&tagIdList=2",
            "tagIdList is given twice; give it once (separate ids with commas).",
        ),
        (
            "?page=1",
            "Unknown field 'page'; this endpoint takes ['name', 'pageNum', 'pageSize', 'tagIdList'].",
        ),
    ],
)
def test_list_persons_refuses_what_breaks_a_rule(api, query, message):
    assert api.refused("GET", f"/persons{query}") == message


def test_search_filters_sorts_and_pages(api):
    ids = named_persons(api)
    default = api.ok("POST", "/persons/search", {"pageNum": 1})
    # ASSET_COUNT DESC by default: every count is 0, so ties go by person id, descending too.
    assert (default["pageSize"], names(default)) == (10, ["Park D", None, "kim C", "Lee B", "Kim A"])
    by_name = api.ok("POST", "/persons/search", {"pageNum": 1, "sortColumn": "NAME", "sortType": "ASC"})
    assert names(by_name) == ["Kim A", "Lee B", "Park D", "kim C", None]
    by_id = api.ok(
        "POST", "/persons/search", {"pageNum": 2, "pageSize": 2, "sortColumn": "PERSON_ID", "sortType": "ASC"}
    )
    assert (names(by_id), by_id["totalPage"], by_id["pageNo"]) == (["kim C", None], 3, 2)
    created = api.ok(
        "POST", "/persons/search", {"pageNum": 1, "sortColumn": "CREATED_AT", "sortType": "DESC"}
    )
    assert names(created)[0] == "Park D"
    assert names(api.ok("POST", "/persons/search", {"pageNum": 1, "nameType": "ANONYMOUS"})) == [None]
    assert len(api.ok("POST", "/persons/search", {"pageNum": 1, "nameType": "NAMED"})["content"]) == 4
    picked = {"pageNum": 1, "personIds": [ids["Kim A"], ids["Park D"], 9999], "sortType": "ASC"}
    assert names(api.ok("POST", "/persons/search", picked)) == ["Kim A", "Park D"]
    assert names(api.ok("POST", "/persons/search", {"pageNum": 1, "name": "kim", "sortType": "ASC"})) == [
        "Kim A",
        "kim C",
    ]
    tag = api.ok("POST", "/person-tags", {"name": "cast"})["id"]
    api.ok("POST", f"/persons/{ids['kim C']}/person-tags", {"tagIds": [tag]})
    assert names(api.ok("POST", "/persons/search", {"pageNum": 1, "tagIds": [tag]})) == ["kim C"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "pageNum is required."),
        ({"pageNum": 1, "pageSize": 51}, "pageSize must be from 1 to 50, got 51."),
        ({"pageNum": "1"}, "pageNum must be a whole number, got '1'."),
        ({"pageNum": True}, "pageNum must be a whole number, got True."),
        ({"pageNum": 1, "nameType": "SOME"}, "nameType must be one of ['NAMED', 'ANONYMOUS'], got 'SOME'."),
        (
            {"pageNum": 1, "sortColumn": "AGE"},
            "sortColumn must be one of ['ASSET_COUNT', 'CREATED_AT', 'PERSON_ID', 'NAME'], got 'AGE'.",
        ),
        ({"pageNum": 1, "sortType": "UP"}, "sortType must be one of ['DESC', 'ASC'], got 'UP'."),
        ({"pageNum": 1, "name": "K"}, "name must be 2 to 50 characters long, got 1."),
        ({"pageNum": 1, "personIds": []}, "personIds must hold 1 to 1000 ids, got 0."),
        ({"pageNum": 1, "size": 5}, "Unknown field 'size'; this endpoint takes "),
    ],
)
def test_search_refuses_what_breaks_a_rule(api, body, message):
    assert api.refused("POST", "/persons/search", body).startswith(message)


# --- tags -----------------------------------------------------------------------------------------


def test_tags_create_list_set_remove_and_delete(api, emulator):
    created = [api.ok("POST", "/person-tags", {"name": f"tag {number:02}"}) for number in range(12)]
    assert created[0] == {"id": 101, "name": "tag 00"}
    assert [tag["id"] for tag in created] == list(range(101, 113))
    first = api.ok("GET", "/person-tags?pageNum=1")
    assert (first["totalCount"], first["totalPage"], first["pageNo"], first["pageSize"]) == (12, 2, 1, 10)
    assert first["content"] == created[:10]
    assert api.ok("GET", "/person-tags?pageNum=2")["content"] == created[10:]
    assert api.ok("GET", "/person-tags?pageNum=1&id=105")["content"] == [created[4]]
    assert api.ok("GET", "/person-tags?pageNum=1&name=TAG%2011")["content"] == [created[11]]
    assert [t.name for t in emulator.state.tags(WORKSPACE)][:2] == ["tag 00", "tag 01"]

    api.create(face(0))
    added = api.ok("POST", "/persons/1001/person-tags", {"tagIds": [101, 102, 101]})
    assert added == {"personId": 1001, "tagList": created[:2]}
    again = api.ok("POST", "/persons/1001/person-tags", {"tagIds": [102, 103]})
    assert again["tagList"] == created[:3]
    assert api.ok("GET", "/persons/1001")["tags"] == created[:3]
    assert api.refused("POST", "/persons/1001/person-tags", {"tagIds": [999]}) == "Tag 999 does not exist."

    assert api.ok("DELETE", "/persons/1001/person-tags", {"tagIds": [101, 999]}) == {
        "personId": 1001,
        "tagList": created[1:3],
    }
    assert api.ok("POST", "/persons/1001/person-tags/remove", {"tagIds": [103]}) == {
        "personId": 1001,
        "tagList": created[1:2],
    }
    assert api.ok("DELETE", "/person-tags/102") == created[1]
    assert api.ok("GET", "/persons/1001")["tags"] == []
    assert api.refused("DELETE", "/person-tags/102") == "Tag 102 does not exist."
    assert (
        api.refused("DELETE", "/person-tags/x1") == "tag_id must be a whole number (digits only), got 'x1'."
    )
    assert api.ok("GET", "/person-tags?pageNum=1")["totalCount"] == 11


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        (
            "POST",
            "/person-tags",
            {"name": "tag 00"},
            "The tag name 'tag 00' is already used in the workspace.",
        ),
        ("POST", "/person-tags", {"name": "x" * 31}, "name must be 1 to 30 characters long, got 31."),
        ("POST", "/person-tags", {"name": " "}, "name must not be blank, got ' '."),
        ("POST", "/person-tags", {}, "name is required."),
        ("GET", "/person-tags", None, "pageNum is required."),
        ("GET", "/person-tags?pageNum=1&pageSize=51", None, "pageSize must be from 1 to 50, got 51."),
        (
            "GET",
            "/person-tags?pageNum=1&name=" + "x" * 31,
            None,
            "name must be 1 to 30 characters long, got 31.",
        ),
        ("GET", "/person-tags?pageNum=1&id=0", None, "id must be from 1 to 9223372036854775807, got 0."),
        ("POST", "/persons/1001/person-tags", {"tagIds": []}, "tagIds must hold 1 to 1000 ids, got 0."),
        ("DELETE", "/persons/1001/person-tags", {}, "tagIds is required."),
    ],
)
def test_tag_routes_refuse_what_breaks_a_rule(api, method, path, body, message):
    api.ok("POST", "/person-tags", {"name": "tag 00"})
    api.ok("POST", "/persons", {"thumbnails": api.stored_keys(1)})
    assert api.refused(method, path, body) == message


# --- the request log, faults and rate limits ------------------------------------------------------


def test_reads_send_no_write_request_and_the_log_names_every_endpoint(api, emulator):
    api.create(face(0), name="Kim")
    api.create(face(0, 1))
    writes = emulator.state.write_requests()
    assert [(r.method, r.endpoint, r.status) for r in writes] == [("POST", "create-person", 200)] * 2
    before = len(emulator.state.requests)

    key = api.upload(face(0, 2))
    api.ok("GET", "/persons/1001")
    api.ok("GET", "/persons?pageNum=1")
    api.ok("POST", "/persons/search", {"pageNum": 1})
    api.ok("POST", "/persons/recommend-by-thumbnail", {"thumbnailKey": key})
    api.ok("GET", "/persons/1001/similar")
    api.ok("GET", "/person-tags?pageNum=1")
    assert emulator.state.write_requests() == writes
    assert [(r.method, r.endpoint) for r in emulator.state.requests[before:]] == [
        ("POST", "presigned-url"),
        ("PUT", "storage"),
        ("GET", "get-person"),
        ("GET", "list-persons"),
        ("POST", "search-persons"),
        ("POST", "compare"),
        ("GET", "similar"),
        ("GET", "list-tags"),
    ]
    # A refused write was still sent; so was a write to a path no route knows.
    api.refused("PATCH", "/persons/1001", {"name": " "})
    api.send("POST", "/persons/1001/rename", {"name": "x"})
    assert [(r.method, r.endpoint, r.status) for r in emulator.state.write_requests()[2:]] == [
        ("PATCH", "update-person", 400),
        ("POST", "other", 404),
    ]


def test_every_write_endpoint_is_logged_as_a_write(api, emulator):
    api.create(face(0))
    api.create(face(1))
    tag = api.ok("POST", "/person-tags", {"name": "t"})["id"]
    api.ok("PATCH", "/persons/1001", {"description": "d"})
    api.ok(
        "POST",
        "/persons/1001/person-thumbnail",
        {"thumbnails": [{"thumbnailKey": api.upload(face(0, 1)), "isPrimaryThumbnail": False}]},
    )
    api.ok("DELETE", "/persons/1001/person-thumbnail", {"thumbnailIds": [9999]})
    api.ok("POST", "/persons/1001/person-tags", {"tagIds": [tag]})
    api.ok("POST", "/persons/1001/person-tags/remove", {"tagIds": [tag]})
    api.ok("POST", "/persons/1001/merge", {"personIds": [1002]})
    api.ok("DELETE", f"/person-tags/{tag}")
    api.ok("DELETE", "/persons/1001")
    assert {r.endpoint for r in emulator.state.write_requests()} == set(WRITE_ENDPOINTS)


def test_faults_and_rate_limits_by_endpoint_name(api, emulator):
    assert faults.parse_option("merge-persons:503:2").endpoint == "merge-persons"
    assert parse_rate_limit("create_person=5/1") == ("create-person", (5, 1.0))
    emulator.state.inject("create-person", faults.http_error(503))
    body = {"thumbnails": api.stored_keys(1)}
    assert api.send("POST", "/persons", body).status_code == 503
    assert emulator.state.persons(WORKSPACE) == []
    assert api.ok("POST", "/persons", body)["personId"] == 1001
    assert [(r.status, r.fault) for r in emulator.state.requests_to("create-person")] == [
        (503, "503"),
        (200, None),
    ]

    emulator.state.rate_limits = {"similar": (1, 60)}
    assert api.send("GET", "/persons/1001/similar").status_code == 200
    throttled = api.send("GET", "/persons/1001/similar")
    assert throttled.status_code == 429
    assert throttled.json() == {"error": {"errorCode": "420", "message": "Rate Limited"}}
    assert api.send("GET", "/persons/1001").status_code == 200
    stats = emulator.state.stats()
    assert (stats["admitted"]["similar"], stats["throttled"]["similar"]) == (1, 1)
    # The scripted 503 answered before the gateway: only the second create was admitted.
    assert (stats["admitted"]["create-person"], stats["admitted"]["get-person"]) == (1, 1)
