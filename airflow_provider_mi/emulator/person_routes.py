"""
The person API's routes: persons, their thumbnails and tags, merge, compare and similar.

Shapes (NCP's pages are cut before most response tables; these are the emulator's assumptions,
which the client parses):

- a person: ``{"personId", "id" (the same), "name" (null: anonymous), "description", "tags":
  [{"id", "name"}], "thumbnails": [thumbnail], "assetCount": 0, "sceneCount": 0, "createdTime",
  "updatedTime"}`` (ISO 8601);
- a thumbnail: ``{"id", "thumbnailKey", "url" (the image, at /_emulator/thumbnails/{id}),
  "isPrimaryThumbnail"}``;
- a page: ``{"content", "totalCount", "totalPage", "pageNo", "pageSize"}``.

Every refusal is HTTP 400 with ``{"code": "10001", "message": "Invalid Request. <what is wrong>"}``
(NCP documents no person-specific codes). Name filters match a part of the name, ignoring case; tag
filters match a person with any of the tags.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from airflow_provider_mi.emulator import rules
from airflow_provider_mi.emulator.fields import Fields, Refused, json_object, query_fields
from airflow_provider_mi.emulator.persons import Person, PersonBook, Tag, Thumbnail

_BASE = "/api/v1/workspaces/{workspace}"
_PERSON = _BASE + "/persons/{person_id}"
#: Where a thumbnail's image is served (the emulator's control plane: no signature).
THUMBNAIL_IMAGE_PATH = "/_emulator/thumbnails/"

Result = Callable[[web.Request], Awaitable[Any]]


def iso(timestamp: float) -> str:
    """Return Unix seconds as ISO 8601 in UTC, e.g. ``2026-12-01T10:00:00+00:00``."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def _path_id(request: web.Request, name: str) -> int:
    raw = request.match_info[name]
    if not (raw.isascii() and raw.isdigit()):
        raise Refused(f"{name} must be a whole number (digits only), got {raw!r}.")
    return int(raw)


async def _body(request: web.Request, *names: str) -> Fields:
    return Fields(json_object(await request.read()), names)


def _page(items: list[Any], page_num: int, page_size: int) -> dict[str, Any]:
    start = (page_num - 1) * page_size
    return {
        "content": items[start : start + page_size],
        "totalCount": len(items),
        "totalPage": math.ceil(len(items) / page_size),
        "pageNo": page_num,
        "pageSize": page_size,
    }


def _named(name: str | None, part: str | None) -> bool:
    """Whether a name matches a name filter: it holds ``part``, ignoring case."""
    return part is None or (name is not None and part.casefold() in name.casefold())


def _tagged(person: Person, tag_ids: list[int] | None) -> bool:
    return tag_ids is None or any(tag.id in tag_ids for tag in person.tags)


_SORT_KEYS: dict[str, Callable[[Person], Any]] = {
    "ASSET_COUNT": lambda person: 0,  # the emulator analyses no assets: every count is 0
    "CREATED_AT": lambda person: person.created_at,
    "PERSON_ID": lambda person: person.person_id,
    "NAME": lambda person: (person.name is None, person.name or ""),  # anonymous ones last (ascending)
}


class PersonRoutes:
    """
    The handlers of the person API over one :class:`PersonBook`.

    :param book: the persons and tags.
    :param public_url: returns the emulator's base URL (for thumbnail URLs).
    """

    def __init__(self, book: PersonBook, public_url: Callable[[], str]) -> None:
        self.book = book
        self.public_url = public_url

    def table(self) -> list[tuple[str, str, str, Result]]:
        """Return every route's ``(method, path, endpoint name, handler)``; a handler returns a ``result``."""
        return [
            ("POST", _BASE + "/persons", "create-person", self.create),
            ("GET", _BASE + "/persons", "list-persons", self.list_persons),
            ("POST", _BASE + "/persons/search", "search-persons", self.search),
            ("POST", _BASE + "/persons/recommend-by-thumbnail", "compare", self.compare),
            ("GET", _PERSON, "get-person", self.get),
            ("PATCH", _PERSON, "update-person", self.update),
            ("DELETE", _PERSON, "delete-person", self.delete),
            ("POST", _PERSON + "/merge", "merge-persons", self.merge),
            ("POST", _PERSON + "/person-thumbnail", "add-thumbnails", self.add_thumbnails),
            ("DELETE", _PERSON + "/person-thumbnail", "remove-thumbnails", self.remove_thumbnails),
            ("POST", _PERSON + "/person-thumbnail/remove", "remove-thumbnails", self.remove_thumbnails),
            ("GET", _PERSON + "/similar", "similar", self.similar),
            ("GET", _BASE + "/person-tags", "list-tags", self.list_tags),
            ("POST", _BASE + "/person-tags", "create-tag", self.create_tag),
            ("DELETE", _BASE + "/person-tags/{tag_id}", "delete-tag", self.delete_tag),
            ("POST", _PERSON + "/person-tags", "add-tags", self.add_tags),
            ("DELETE", _PERSON + "/person-tags", "remove-tags", self.remove_tags),
            ("POST", _PERSON + "/person-tags/remove", "remove-tags", self.remove_tags),
        ]

    # --- shapes -------------------------------------------------------------------------------

    def _thumbnail(self, thumbnail: Thumbnail) -> dict[str, Any]:
        return {
            "id": thumbnail.id,
            "thumbnailKey": thumbnail.key,
            "url": f"{self.public_url()}{THUMBNAIL_IMAGE_PATH}{thumbnail.id}",
            "isPrimaryThumbnail": thumbnail.primary,
        }

    @staticmethod
    def _tag(tag: Tag) -> dict[str, Any]:
        return {"id": tag.id, "name": tag.name}

    def _person(self, person: Person) -> dict[str, Any]:
        return {
            "personId": person.person_id,
            "id": person.person_id,
            "name": person.name,
            "description": person.description,
            "tags": [self._tag(tag) for tag in person.tags],
            "thumbnails": [self._thumbnail(thumbnail) for thumbnail in person.thumbnails],
            "assetCount": 0,
            "sceneCount": 0,
            "createdTime": iso(person.created_at),
            "updatedTime": iso(person.updated_at),
        }

    def _thumbnail_list(self, person: Person) -> dict[str, Any]:
        return {
            "personId": person.person_id,
            "thumbnailList": [self._thumbnail(t) for t in person.thumbnails],
        }

    def _tag_list(self, person: Person) -> dict[str, Any]:
        return {"personId": person.person_id, "tagList": [self._tag(tag) for tag in person.tags]}

    @staticmethod
    def _scored(ranked: list[tuple[Person, int]]) -> list[dict[str, Any]]:
        return [
            {"personId": person.person_id, "name": person.name, "score": score} for person, score in ranked
        ]

    # --- persons ------------------------------------------------------------------------------

    async def create(self, request: web.Request) -> Any:
        """``POST /persons``: register a person."""
        fields = await _body(request, "name", "description", "thumbnails")
        name = fields.text("name", rules.PERSON_NAME_LENGTH)
        description = fields.text("description", rules.DESCRIPTION_LENGTH, blank=True)
        thumbnails = fields.thumbnails("thumbnails", rules.THUMBNAILS_PER_PERSON)
        person = self.book.create(request.match_info["workspace"], name, description, thumbnails)
        return self._person(person)

    async def get(self, request: web.Request) -> Any:
        """``GET /persons/{person_id}``."""
        return self._person(self.book.get(request.match_info["workspace"], _path_id(request, "person_id")))

    async def update(self, request: web.Request) -> Any:
        """``PATCH /persons/{person_id}``: change the name, description or primary thumbnail."""
        person_id = _path_id(request, "person_id")
        fields = await _body(request, "name", "description", "primaryThumbnailId")
        name = fields.text("name", rules.PERSON_NAME_LENGTH)
        description = fields.text("description", rules.DESCRIPTION_LENGTH, blank=True)
        primary = fields.optional_integer("primaryThumbnailId", rules.ANY_ID)
        person = self.book.update(request.match_info["workspace"], person_id, name, description, primary)
        return self._person(person)

    async def delete(self, request: web.Request) -> Any:
        """``DELETE /persons/{person_id}``: the person as it was."""
        return self._person(self.book.delete(request.match_info["workspace"], _path_id(request, "person_id")))

    async def list_persons(self, request: web.Request) -> Any:
        """``GET /persons?pageNum=&pageSize=&name=&tagIdList=``: a page, by person id."""
        fields = query_fields(request.query, ("pageNum", "pageSize", "name", "tagIdList"))
        page_num = fields.integer("pageNum", rules.PAGE_NUM)
        page_size = fields.integer("pageSize", rules.LIST_PERSONS_PAGE_SIZE)
        name = fields.text("name", rules.NAME_FILTER_LENGTH, forbidden=rules.NAME_FILTER_FORBIDDEN)
        tag_ids = fields.ids("tagIdList", rules.TAG_ID_FILTER)
        persons = self.book.persons(request.match_info["workspace"])
        found = [self._person(p) for p in persons if _named(p.name, name) and _tagged(p, tag_ids)]
        return _page(found, page_num, page_size)

    async def search(self, request: web.Request) -> Any:
        """``POST /persons/search``: a page of the persons matching every filter given, sorted."""
        fields = await _body(
            request,
            "pageNum",
            "pageSize",
            "name",
            "personIds",
            "tagIds",
            "nameType",
            "sortColumn",
            "sortType",
        )
        page_num = fields.integer("pageNum", rules.PAGE_NUM)
        page_size = fields.integer("pageSize", rules.SEARCH_PERSONS_PAGE_SIZE)
        name = fields.text("name", rules.NAME_FILTER_LENGTH, forbidden=rules.NAME_FILTER_FORBIDDEN)
        person_ids = fields.ids("personIds", rules.ID_LIST)
        tag_ids = fields.ids("tagIds", rules.ID_LIST)
        name_type = fields.choice("nameType", rules.NAME_TYPES)
        column = fields.choice("sortColumn", rules.SORT_COLUMNS) or rules.SORT_COLUMNS[0]
        descending = (fields.choice("sortType", rules.SORT_TYPES) or rules.SORT_TYPES[0]) == "DESC"
        found = [
            person
            for person in self.book.persons(request.match_info["workspace"])
            if _named(person.name, name)
            and _tagged(person, tag_ids)
            and (person_ids is None or person.person_id in person_ids)
            and (name_type is None or (person.name is None) == (name_type == "ANONYMOUS"))
        ]
        # Ties (every asset count is 0) go by person id, in the same direction: a stable order.
        found.sort(key=lambda person: (_SORT_KEYS[column](person), person.person_id), reverse=descending)
        return _page([self._person(p) for p in found], page_num, page_size)

    async def merge(self, request: web.Request) -> Any:
        """``POST /persons/{person_id}/merge``: absorb ``personIds`` into the person."""
        person_id = _path_id(request, "person_id")
        person_ids = (await _body(request, "personIds")).required_ids("personIds", rules.MERGE_IDS)
        merge = self.book.merge(request.match_info["workspace"], person_id, person_ids)
        return {
            "personId": person_id,
            "transferredAssetCount": 0,
            "transferredThumbnailCount": merge.transferred_thumbnails,
            "mergedTime": iso(merge.person.updated_at),
        }

    # --- thumbnails ---------------------------------------------------------------------------

    async def add_thumbnails(self, request: web.Request) -> Any:
        """``POST /persons/{person_id}/person-thumbnail``: every thumbnail the person has now."""
        person_id = _path_id(request, "person_id")
        thumbnails = (await _body(request, "thumbnails")).thumbnails(
            "thumbnails", rules.THUMBNAILS_PER_PERSON
        )
        person = self.book.add_thumbnails(request.match_info["workspace"], person_id, thumbnails)
        return self._thumbnail_list(person)

    async def remove_thumbnails(self, request: web.Request) -> Any:
        """``DELETE /persons/{person_id}/person-thumbnail`` or ``POST .../remove``: what remains."""
        person_id = _path_id(request, "person_id")
        ids = (await _body(request, "thumbnailIds")).required_ids("thumbnailIds", rules.ID_LIST)
        person = self.book.remove_thumbnails(request.match_info["workspace"], person_id, ids)
        return self._thumbnail_list(person)

    # --- compare and similar ------------------------------------------------------------------

    async def compare(self, request: web.Request) -> Any:
        """``POST /persons/recommend-by-thumbnail``: the persons most like the thumbnail."""
        fields = await _body(request, "thumbnailKey", "personCount", "scoreThreshold")
        key = fields.required_text("thumbnailKey", rules.THUMBNAIL_KEY_LENGTH)
        count = fields.integer("personCount", rules.PERSON_COUNT)
        threshold = fields.integer("scoreThreshold", rules.SCORE_THRESHOLD)
        ranked = self.book.compare(request.match_info["workspace"], key, count, threshold)
        return {"recommendedPersons": self._scored(ranked)}

    async def similar(self, request: web.Request) -> Any:
        """``GET /persons/{person_id}/similar?personCount=&scoreThreshold=``: the persons most like it."""
        person_id = _path_id(request, "person_id")
        fields = query_fields(request.query, ("personCount", "scoreThreshold"))
        count = fields.integer("personCount", rules.PERSON_COUNT)
        threshold = fields.integer("scoreThreshold", rules.SCORE_THRESHOLD)
        ranked = self.book.similar(request.match_info["workspace"], person_id, count, threshold)
        return {"personId": person_id, "similarPersons": self._scored(ranked)}

    # --- tags ---------------------------------------------------------------------------------

    async def list_tags(self, request: web.Request) -> Any:
        """``GET /person-tags?pageNum=&pageSize=&id=&name=``: a page of tags, by id."""
        fields = query_fields(request.query, ("pageNum", "pageSize", "id", "name"))
        page_num = fields.integer("pageNum", rules.PAGE_NUM)
        page_size = fields.integer("pageSize", rules.LIST_TAGS_PAGE_SIZE)
        tag_id = fields.optional_integer("id", rules.ANY_ID)
        name = fields.text("name", rules.TAG_NAME_LENGTH)
        tags = self.book.tags(request.match_info["workspace"])
        found = [self._tag(t) for t in tags if (tag_id is None or t.id == tag_id) and _named(t.name, name)]
        return _page(found, page_num, page_size)

    async def create_tag(self, request: web.Request) -> Any:
        """``POST /person-tags``: a new tag."""
        name = (await _body(request, "name")).required_text("name", rules.TAG_NAME_LENGTH)
        return self._tag(self.book.create_tag(request.match_info["workspace"], name))

    async def delete_tag(self, request: web.Request) -> Any:
        """``DELETE /person-tags/{tag_id}``: the tag as it was."""
        return self._tag(self.book.delete_tag(request.match_info["workspace"], _path_id(request, "tag_id")))

    async def add_tags(self, request: web.Request) -> Any:
        """``POST /persons/{person_id}/person-tags``: every tag the person has now."""
        person_id = _path_id(request, "person_id")
        tag_ids = (await _body(request, "tagIds")).required_ids("tagIds", rules.ID_LIST)
        return self._tag_list(self.book.add_tags(request.match_info["workspace"], person_id, tag_ids))

    async def remove_tags(self, request: web.Request) -> Any:
        """``DELETE /persons/{person_id}/person-tags`` or ``POST .../remove``: the tags left."""
        person_id = _path_id(request, "person_id")
        tag_ids = (await _body(request, "tagIds")).required_ids("tagIds", rules.ID_LIST)
        return self._tag_list(self.book.remove_tags(request.match_info["workspace"], person_id, tag_ids))
