"""
The person side's requests: each call's arguments checked by the documented rules, then built
from its endpoint's declaration (:mod:`airflow_provider_mi.core.endpoints`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow_provider_mi.core import endpoints as api
from airflow_provider_mi.core import person_rules as rules
from airflow_provider_mi.core.endpoints import ApiRequest
from airflow_provider_mi.core.persons import (
    MergeResult,
    Page,
    Person,
    PersonMatch,
    PersonTag,
    PersonThumbnail,
)
from airflow_provider_mi.core.validation import validate_choice, validate_thumbnail_key
from airflow_provider_mi.exceptions import InvalidParameterError

NAME_TYPES = ("NAMED", "ANONYMOUS")
SORT_COLUMNS = ("ASSET_COUNT", "CREATED_AT", "PERSON_ID", "NAME")
SORT_TYPES = ("ASC", "DESC")


def _choice(value: Any, field: str, choices: Sequence[str]) -> str | None:
    return None if value is None else validate_choice(value, field, choices)


def create_person(
    workspace_name: str,
    thumbnail_keys: Sequence[str],
    *,
    name: str | None = None,
    description: str | None = None,
    primary_thumbnail_key: str | None = None,
) -> ApiRequest[Person]:
    """``POST .../persons``: a person from 1 to 100 uploaded thumbnails; no name registers it anonymous."""
    body: dict[str, Any] = {"thumbnails": rules.thumbnails_body(thumbnail_keys, primary_thumbnail_key)}
    if name is not None:
        body["name"] = rules.validate_person_name(name)
    if description is not None:
        body["description"] = rules.validate_description(description)
    return api.CREATE_PERSON.request(body, workspace_name=workspace_name)


def get_person(workspace_name: str, person_id: str | int) -> ApiRequest[Person]:
    """``GET .../persons/{person_id}``."""
    return api.GET_PERSON.request(workspace_name=workspace_name, person_id=person_id)


def update_person(
    workspace_name: str,
    person_id: str | int,
    *,
    name: str | None = None,
    description: str | None = None,
    primary_thumbnail_id: str | int | None = None,
) -> ApiRequest[Person]:
    """``PATCH .../persons/{person_id}``: only what is given changes."""
    body: dict[str, Any] = {}
    if name is not None:
        body["name"] = rules.validate_person_name(name)
    if description is not None:
        body["description"] = rules.validate_description(description)
    if primary_thumbnail_id is not None:
        body["primaryThumbnailId"] = rules.id_value(
            rules.validate_id(primary_thumbnail_id, "primary_thumbnail_id")
        )
    if not body:
        raise InvalidParameterError("Nothing to update: give name, description or primary_thumbnail_id.")
    return api.UPDATE_PERSON.request(body, workspace_name=workspace_name, person_id=person_id)


def delete_person(workspace_name: str, person_id: str | int) -> ApiRequest[Person]:
    """``DELETE .../persons/{person_id}``: irreversible; the person's facial features go with it."""
    return api.DELETE_PERSON.request(workspace_name=workspace_name, person_id=person_id)


def list_persons(
    workspace_name: str,
    page_num: int,
    *,
    page_size: int = rules.PAGE_SIZES["persons"][1],
    name: str | None = None,
    tag_ids: Sequence[str | int] | None = None,
) -> ApiRequest[Page[Person]]:
    """``GET .../persons``: one page of the workspace's persons."""
    query: dict[str, Any] = {
        "pageNum": rules.validate_in_range(page_num, "page_num", (1, 10**9)),
        "pageSize": rules.validate_page_size(page_size, "persons"),
        "name": None if name is None else rules.validate_name_filter(name),
        "tagIdList": None
        if tag_ids is None
        else rules.validate_ids(tag_ids, "tag_ids", maximum=rules.MAX_TAG_FILTER),
    }
    return api.LIST_PERSONS.request(query=query, workspace_name=workspace_name)


def search_persons(
    workspace_name: str,
    page_num: int = 1,
    *,
    page_size: int = rules.PAGE_SIZES["search"][1],
    name: str | None = None,
    person_ids: Sequence[str | int] | None = None,
    tag_ids: Sequence[str | int] | None = None,
    name_type: str | None = None,
    sort_column: str | None = None,
    sort_type: str | None = None,
) -> ApiRequest[Page[Person]]:
    """``POST .../persons/search``: one page of the persons matching every filter given."""
    body: dict[str, Any] = {
        "pageNum": rules.validate_in_range(page_num, "page_num", (1, 10**9)),
        "pageSize": rules.validate_page_size(page_size, "search"),
    }
    if name is not None:
        body["name"] = rules.validate_name_filter(name)
    if person_ids is not None:
        body["personIds"] = rules.id_values(person_ids, "person_ids")
    if tag_ids is not None:
        body["tagIds"] = rules.id_values(tag_ids, "tag_ids")
    choices = {
        "nameType": _choice(name_type, "name_type", NAME_TYPES),
        "sortColumn": _choice(sort_column, "sort_column", SORT_COLUMNS),
        "sortType": _choice(sort_type, "sort_type", SORT_TYPES),
    }
    body.update({field: value for field, value in choices.items() if value is not None})
    return api.SEARCH_PERSONS.request(body, workspace_name=workspace_name)


def merge_persons(
    workspace_name: str, person_id: str | int, merged_person_ids: Sequence[str | int]
) -> ApiRequest[MergeResult]:
    """``POST .../persons/{person_id}/merge``: irreversible; up to 10 persons move into ``person_id``."""
    target, merged = rules.validate_merge(person_id, merged_person_ids)
    body = {"personIds": [rules.id_value(value) for value in merged]}
    return api.MERGE_PERSONS.request(body, workspace_name=workspace_name, person_id=target)


def add_thumbnails(
    workspace_name: str,
    person_id: str | int,
    thumbnail_keys: Sequence[str],
    *,
    primary_thumbnail_key: str | None = None,
) -> ApiRequest[tuple[PersonThumbnail, ...]]:
    """``POST .../persons/{person_id}/person-thumbnail``: the person keeps its primary unless one is named."""
    thumbnails = rules.thumbnails_body(thumbnail_keys, primary_thumbnail_key)
    if primary_thumbnail_key is None:  # thumbnails_body made the first one primary: keep the person's
        for thumbnail in thumbnails:
            thumbnail["isPrimaryThumbnail"] = False
    return api.ADD_THUMBNAILS.request(
        {"thumbnails": thumbnails}, workspace_name=workspace_name, person_id=person_id
    )


def remove_thumbnails(
    workspace_name: str, person_id: str | int, thumbnail_ids: Sequence[str | int]
) -> ApiRequest[tuple[PersonThumbnail, ...]]:
    """``POST .../persons/{person_id}/person-thumbnail/remove``: a person keeps at least one thumbnail."""
    body = {"thumbnailIds": rules.id_values(thumbnail_ids, "thumbnail_ids", maximum=rules.MAX_THUMBNAILS)}
    return api.REMOVE_THUMBNAILS.request(body, workspace_name=workspace_name, person_id=person_id)


def compare_thumbnail(
    workspace_name: str, thumbnail_key: str, *, person_count: int = 3, score_threshold: int = 80
) -> ApiRequest[tuple[PersonMatch, ...]]:
    """``POST .../persons/recommend-by-thumbnail``: registered persons resembling an uploaded thumbnail."""
    body = {
        "thumbnailKey": validate_thumbnail_key(thumbnail_key),
        "personCount": rules.validate_in_range(person_count, "person_count", rules.PERSON_COUNT_RANGE),
        "scoreThreshold": rules.validate_in_range(
            score_threshold, "score_threshold", rules.SCORE_THRESHOLD_RANGE
        ),
    }
    return api.COMPARE_THUMBNAIL.request(body, workspace_name=workspace_name)


def similar_persons(
    workspace_name: str, person_id: str | int, *, person_count: int = 3, score_threshold: int = 80
) -> ApiRequest[tuple[PersonMatch, ...]]:
    """``GET .../persons/{person_id}/similar``: registered persons resembling a person."""
    query = {
        "personCount": rules.validate_in_range(person_count, "person_count", rules.PERSON_COUNT_RANGE),
        "scoreThreshold": rules.validate_in_range(
            score_threshold, "score_threshold", rules.SCORE_THRESHOLD_RANGE
        ),
    }
    return api.SIMILAR_PERSONS.request(query=query, workspace_name=workspace_name, person_id=person_id)


def list_tags(
    workspace_name: str,
    page_num: int,
    *,
    page_size: int = rules.PAGE_SIZES["tags"][1],
    name: str | None = None,
) -> ApiRequest[Page[PersonTag]]:
    """``GET .../person-tags``: one page of the workspace's person tags."""
    query = {
        "pageNum": rules.validate_in_range(page_num, "page_num", (1, 10**9)),
        "pageSize": rules.validate_page_size(page_size, "tags"),
        "name": None if name is None else rules.validate_tag_name(name),
    }
    return api.LIST_TAGS.request(query=query, workspace_name=workspace_name)


def create_tag(workspace_name: str, name: str) -> ApiRequest[PersonTag]:
    """``POST .../person-tags``: a tag, its name unique in the workspace."""
    return api.CREATE_TAG.request({"name": rules.validate_tag_name(name)}, workspace_name=workspace_name)


def delete_tag(workspace_name: str, tag_id: str | int) -> ApiRequest[PersonTag]:
    """``DELETE .../person-tags/{tag_id}``."""
    return api.DELETE_TAG.request(workspace_name=workspace_name, tag_id=tag_id)


def add_tags(
    workspace_name: str, person_id: str | int, tag_ids: Sequence[str | int]
) -> ApiRequest[tuple[PersonTag, ...]]:
    """``POST .../persons/{person_id}/person-tags``."""
    body = {"tagIds": rules.id_values(tag_ids, "tag_ids")}
    return api.ADD_TAGS.request(body, workspace_name=workspace_name, person_id=person_id)


def remove_tags(
    workspace_name: str, person_id: str | int, tag_ids: Sequence[str | int]
) -> ApiRequest[tuple[PersonTag, ...]]:
    """``POST .../persons/{person_id}/person-tags/remove``."""
    body = {"tagIds": rules.id_values(tag_ids, "tag_ids")}
    return api.REMOVE_TAGS.request(body, workspace_name=workspace_name, person_id=person_id)
