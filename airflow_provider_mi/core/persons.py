"""
Typed results of the person side: persons, their thumbnails and tags, pages, matches, merges.

NCP's public documentation of these responses is cut short in places (see the README's
reference section for what is assumed). Each parser reads the documented fields, keeps the whole
``result`` as ``raw``, and never fails on a field it does not know; ids are text, whichever of
integer or string the API sends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from airflow_provider_mi.exceptions import MediaIntelligenceResponseError

T = TypeVar("T")


def _id(item: Mapping[str, Any], *names: str) -> str:
    """The first of ``names`` that holds an id, as text (ids are integers in some editions)."""
    for name in names:
        value = item.get(name)
        if isinstance(value, (int, str)) and not isinstance(value, bool) and str(value):
            return str(value)
    raise MediaIntelligenceResponseError(
        f"no {' or '.join(repr(name) for name in names)} in {item!r}", retryable=False
    )


def _text(item: Mapping[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value if isinstance(value, str) else None


def _number(item: Mapping[str, Any], name: str) -> float | None:
    value = item.get(name)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _items(result: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    value = result.get(name)
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


@dataclass(frozen=True)
class PersonThumbnail:
    """
    One thumbnail of a person.

    :param thumbnail_id: its id (``primaryThumbnailId`` and ``thumbnailIds`` take it).
    :param is_primary: whether it is the person's primary thumbnail.
    :param url: a presigned URL of the image, if given.
    :param thumbnail_key: the key it was uploaded under, if given.
    """

    thumbnail_id: str
    is_primary: bool = False
    url: str | None = field(default=None, repr=False)
    thumbnail_key: str | None = None

    @classmethod
    def parse(cls, item: Mapping[str, Any]) -> PersonThumbnail:
        """Read one item of ``thumbnails`` or ``thumbnailList``."""
        return cls(
            _id(item, "id", "thumbnailId"),
            item.get("isPrimaryThumbnail") is True,
            _text(item, "url"),
            _text(item, "thumbnailKey"),
        )


@dataclass(frozen=True)
class PersonTag:
    """
    A person tag.

    :param tag_id: its id.
    :param name: its name.
    """

    tag_id: str
    name: str | None = None

    @classmethod
    def parse(cls, item: Mapping[str, Any]) -> PersonTag:
        """Read one tag."""
        return cls(_id(item, "id", "tagId"), _text(item, "name"))


@dataclass(frozen=True)
class Person:
    """
    A person registered in a workspace.

    :param person_id: its id (``personId``, or ``id`` in older responses).
    :param name: its name; ``None`` for an anonymous person.
    :param description: its description.
    :param thumbnails: its thumbnails.
    :param tags: its tags.
    :param raw: the API's whole object, fields this provider does not know included.
    """

    person_id: str
    name: str | None = None
    description: str | None = None
    thumbnails: tuple[PersonThumbnail, ...] = ()
    tags: tuple[PersonTag, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def parse(cls, item: Mapping[str, Any]) -> Person:
        """Read a person object."""
        return cls(
            _id(item, "personId", "id"),
            _text(item, "name"),
            _text(item, "description"),
            tuple(PersonThumbnail.parse(thumb) for thumb in _items(item, "thumbnails")),
            tuple(PersonTag.parse(tag) for tag in _items(item, "tags")),
            dict(item),
        )


@dataclass(frozen=True)
class Page(Generic[T]):
    """
    One page of a listing.

    :param items: the page's items.
    :param total_count: how many items the listing holds.
    :param total_pages: how many pages it has.
    :param page_number: this page's number, from 1.
    """

    items: tuple[T, ...]
    total_count: int | None = None
    total_pages: int | None = None
    page_number: int | None = None

    @classmethod
    def parse(cls, result: Mapping[str, Any], item: Callable[[Mapping[str, Any]], T]) -> Page[T]:
        """Read ``{"content", "totalCount", "totalPage", "pageNo", ...}``."""

        def whole(name: str) -> int | None:
            value = _number(result, name)
            return int(value) if value is not None else None

        items = tuple(item(entry) for entry in _items(result, "content"))
        return cls(items, whole("totalCount"), whole("totalPage"), whole("pageNo"))

    @property
    def is_last(self) -> bool:
        """Whether no page follows (an empty page is the last, whatever the totals say)."""
        if not self.items:
            return True
        return (
            self.total_pages is not None
            and self.page_number is not None
            and self.page_number >= self.total_pages
        )


@dataclass(frozen=True)
class PersonMatch:
    """
    A person that resembles a thumbnail or another person, and how much.

    :param person_id: the person's id.
    :param name: its name, if given.
    :param score: the similarity, 0 to 100, if given.
    """

    person_id: str
    name: str | None = None
    score: float | None = None

    @classmethod
    def parse(cls, item: Mapping[str, Any]) -> PersonMatch:
        """Read one candidate."""
        return cls(_id(item, "personId", "id"), _text(item, "name"), _number(item, "score"))


@dataclass(frozen=True)
class MergeResult:
    """
    What a merge moved into the target person.

    :param person_id: the target person, which remains.
    :param transferred_asset_count: asset links moved to it.
    :param transferred_thumbnail_count: thumbnails moved to it.
    :param merged_time: when (ISO 8601).
    """

    person_id: str
    transferred_asset_count: int | None = None
    transferred_thumbnail_count: int | None = None
    merged_time: str | None = None

    @classmethod
    def parse(cls, result: Mapping[str, Any]) -> MergeResult:
        """Read the merge's result."""
        assets, thumbnails = (
            _number(result, "transferredAssetCount"),
            _number(result, "transferredThumbnailCount"),
        )
        return cls(
            _id(result, "personId"),
            None if assets is None else int(assets),
            None if thumbnails is None else int(thumbnails),
            _text(result, "mergedTime"),
        )


def parse_thumbnail_list(result: Mapping[str, Any]) -> tuple[PersonThumbnail, ...]:
    """Read ``thumbnailList``: the person's thumbnails after an addition or a removal."""
    return tuple(PersonThumbnail.parse(item) for item in _items(result, "thumbnailList"))


def parse_tag_list(result: Mapping[str, Any]) -> tuple[PersonTag, ...]:
    """Read ``tagList``: the person's tags after an addition or a removal."""
    return tuple(PersonTag.parse(item) for item in _items(result, "tagList"))


#: Where compare's candidates are (the documentation's table is cut before the field's name).
RECOMMENDED_FIELDS = ("recommendedPersons", "recommendPersons", "persons", "content")


def parse_recommendations(result: Mapping[str, Any]) -> tuple[PersonMatch, ...]:
    """Read compare's candidates, best first as the API sorts them."""
    name = next((name for name in RECOMMENDED_FIELDS if isinstance(result.get(name), list)), None)
    return tuple(PersonMatch.parse(item) for item in _items(result, name)) if name else ()


def parse_similar(result: Mapping[str, Any]) -> tuple[PersonMatch, ...]:
    """Read ``similarPersons``, most similar first."""
    return tuple(PersonMatch.parse(item) for item in _items(result, "similarPersons"))
