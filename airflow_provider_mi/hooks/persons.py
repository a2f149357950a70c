"""The person side of :class:`~airflow_provider_mi.hooks.media_intelligence.MediaIntelligenceHook`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from airflow_provider_mi.core import person_requests as requests
from airflow_provider_mi.core import person_rules as rules
from airflow_provider_mi.core.persons import (
    MergeResult,
    Page,
    Person,
    PersonMatch,
    PersonTag,
    PersonThumbnail,
)

if TYPE_CHECKING:
    from airflow_provider_mi.core.endpoints import ApiRequest

T = TypeVar("T")


class _Caller(Protocol):
    def call(self, request: ApiRequest[T], policy: Any = None) -> T: ...

    def workspace(self, workspace_name: str | None) -> str: ...


def _pages(hook: _Caller, page: Callable[[int], ApiRequest[Page[T]]]) -> Iterator[T]:
    """
    Build the first page's request now (its arguments are checked before any request), and
    return an iterator that fetches page after page as it is consumed.
    """
    first = page(1)

    def items() -> Iterator[T]:
        request, number = first, 1
        while True:
            fetched = hook.call(request)
            yield from fetched.items
            if fetched.is_last:
                return
            number += 1
            request = page(number)

    return items()


class PersonsMixin:
    """
    Persons, their thumbnails and tags. Every argument is checked by the documented rules before
    any request; destructive calls (delete, merge, removing thumbnails or tags) are methods of
    their own, never a side effect of another. ``workspace_name=None`` is the connection's default.
    """

    def create_person(
        self: _Caller,
        workspace_name: str | None,
        thumbnail_keys: Sequence[str],
        *,
        name: str | None = None,
        description: str | None = None,
        primary_thumbnail_key: str | None = None,
    ) -> Person:
        """
        Register a person from uploaded thumbnails: ``POST .../persons``.

        :param workspace_name: the workspace.
        :param thumbnail_keys: 1 to 100 keys of completed uploads (a key expires 24 hours after its upload).
        :param name: 1 to 50 characters, unique in the workspace; ``None`` registers an anonymous person.
        :param description: up to 700 characters.
        :param primary_thumbnail_key: which key is the primary thumbnail; ``None``: the first.
        """
        return self.call(
            requests.create_person(
                self.workspace(workspace_name),
                thumbnail_keys,
                name=name,
                description=description,
                primary_thumbnail_key=primary_thumbnail_key,
            )
        )

    def get_person(self: _Caller, workspace_name: str | None, person_id: str | int) -> Person:
        """
        Describe one person: ``GET .../persons/{person_id}``.

        :param workspace_name: the workspace.
        :param person_id: the person.
        """
        return self.call(requests.get_person(self.workspace(workspace_name), person_id))

    def update_person(
        self: _Caller,
        workspace_name: str | None,
        person_id: str | int,
        *,
        name: str | None = None,
        description: str | None = None,
        primary_thumbnail_id: str | int | None = None,
    ) -> Person:
        """
        Change what is given of a person: ``PATCH .../persons/{person_id}``.

        :param workspace_name: the workspace.
        :param person_id: the person.
        :param name: a new name (names an anonymous person too).
        :param description: a new description.
        :param primary_thumbnail_id: the id of the thumbnail to make primary.
        """
        request = requests.update_person(
            self.workspace(workspace_name),
            person_id,
            name=name,
            description=description,
            primary_thumbnail_id=primary_thumbnail_id,
        )
        return self.call(request)

    def delete_person(self: _Caller, workspace_name: str | None, person_id: str | int) -> Person:
        """
        Delete a person, irreversibly: ``DELETE .../persons/{person_id}``. Returns it as it was.

        :param workspace_name: the workspace.
        :param person_id: the person.
        """
        return self.call(requests.delete_person(self.workspace(workspace_name), person_id))

    def list_persons(
        self: _Caller,
        workspace_name: str | None,
        *,
        name: str | None = None,
        tag_ids: Sequence[str | int] | None = None,
        page_size: int = rules.PAGE_SIZES["persons"][1],
    ) -> Iterator[Person]:
        """
        Yield every person of the workspace, page after page: ``GET .../persons``.

        :param workspace_name: the workspace.
        :param name: only persons whose name contains this (2 to 50 characters).
        :param tag_ids: only persons with these tags (at most 30).
        :param page_size: persons per request, 1 to 1000.
        """
        workspace = self.workspace(workspace_name)
        return _pages(
            self,
            lambda number: requests.list_persons(
                workspace, number, page_size=page_size, name=name, tag_ids=tag_ids
            ),
        )

    def search_persons(
        self: _Caller, workspace_name: str | None, page_num: int = 1, **filters: Any
    ) -> Page[Person]:
        """
        One page of the persons matching every filter: ``POST .../persons/search``.

        :param workspace_name: the workspace.
        :param page_num: the page, from 1.
        :param filters: ``page_size`` (1 to 50), ``name``, ``person_ids``, ``tag_ids``, ``name_type``
            (``NAMED`` or ``ANONYMOUS``), ``sort_column`` (``ASSET_COUNT``, ``CREATED_AT``,
            ``PERSON_ID``, ``NAME``), ``sort_type`` (``ASC``, ``DESC``).
        """
        return self.call(requests.search_persons(self.workspace(workspace_name), page_num, **filters))

    def merge_persons(
        self: _Caller,
        workspace_name: str | None,
        person_id: str | int,
        merged_person_ids: Sequence[str | int],
    ) -> MergeResult:
        """
        Merge up to 10 persons into ``person_id``, irreversibly: ``POST .../persons/{person_id}/merge``.

        :param workspace_name: the workspace.
        :param person_id: the person that remains.
        :param merged_person_ids: the persons whose thumbnails and assets move to it, and who are gone.
        """
        return self.call(requests.merge_persons(self.workspace(workspace_name), person_id, merged_person_ids))

    def add_person_thumbnails(
        self: _Caller,
        workspace_name: str | None,
        person_id: str | int,
        thumbnail_keys: Sequence[str],
        *,
        primary_thumbnail_key: str | None = None,
    ) -> tuple[PersonThumbnail, ...]:
        """
        Add uploaded thumbnails to a person: ``POST .../persons/{person_id}/person-thumbnail``.
        Returns the person's thumbnails afterwards.

        :param workspace_name: the workspace.
        :param person_id: the person.
        :param thumbnail_keys: keys of completed uploads.
        :param primary_thumbnail_key: one of them to make primary; ``None`` keeps the person's.
        """
        request = requests.add_thumbnails(
            self.workspace(workspace_name),
            person_id,
            thumbnail_keys,
            primary_thumbnail_key=primary_thumbnail_key,
        )
        return self.call(request)

    def remove_person_thumbnails(
        self: _Caller, workspace_name: str | None, person_id: str | int, thumbnail_ids: Sequence[str | int]
    ) -> tuple[PersonThumbnail, ...]:
        """
        Remove thumbnails from a person (never all of them): ``POST .../person-thumbnail/remove``.
        Returns the thumbnails that remain.

        :param workspace_name: the workspace.
        :param person_id: the person.
        :param thumbnail_ids: the thumbnails' ids (unknown ones are ignored by the API).
        """
        return self.call(requests.remove_thumbnails(self.workspace(workspace_name), person_id, thumbnail_ids))

    def compare_thumbnail(
        self: _Caller,
        workspace_name: str | None,
        thumbnail_key: str,
        *,
        person_count: int = 3,
        score_threshold: int = 80,
    ) -> tuple[PersonMatch, ...]:
        """
        Registered persons resembling an uploaded thumbnail, best first:
        ``POST .../persons/recommend-by-thumbnail``. Empty when none scores ``score_threshold``.

        :param workspace_name: the workspace.
        :param thumbnail_key: the key of a completed upload.
        :param person_count: candidates at most, 1 to 10.
        :param score_threshold: the lowest score, 80 to 100.
        """
        request = requests.compare_thumbnail(
            self.workspace(workspace_name),
            thumbnail_key,
            person_count=person_count,
            score_threshold=score_threshold,
        )
        return self.call(request)

    def similar_persons(
        self: _Caller,
        workspace_name: str | None,
        person_id: str | int,
        *,
        person_count: int = 3,
        score_threshold: int = 80,
    ) -> tuple[PersonMatch, ...]:
        """
        Registered persons resembling a person, most similar first: ``GET .../persons/{person_id}/similar``.

        :param workspace_name: the workspace.
        :param person_id: the person.
        :param person_count: candidates at most, 1 to 10.
        :param score_threshold: the lowest score, 80 to 100.
        """
        request = requests.similar_persons(
            self.workspace(workspace_name),
            person_id,
            person_count=person_count,
            score_threshold=score_threshold,
        )
        return self.call(request)

    def list_person_tags(
        self: _Caller, workspace_name: str | None, *, name: str | None = None, page_size: int = 50
    ) -> Iterator[PersonTag]:
        """
        Yield every person tag of the workspace, page after page: ``GET .../person-tags``.

        :param workspace_name: the workspace.
        :param name: only tags whose name contains this.
        :param page_size: tags per request, 1 to 50.
        """
        workspace = self.workspace(workspace_name)
        return _pages(
            self, lambda number: requests.list_tags(workspace, number, page_size=page_size, name=name)
        )

    def create_person_tag(self: _Caller, workspace_name: str | None, name: str) -> PersonTag:
        """
        Create a tag: ``POST .../person-tags``.

        :param workspace_name: the workspace.
        :param name: 1 to 30 characters, unique in the workspace.
        """
        return self.call(requests.create_tag(self.workspace(workspace_name), name))

    def delete_person_tag(self: _Caller, workspace_name: str | None, tag_id: str | int) -> PersonTag:
        """
        Delete a tag: ``DELETE .../person-tags/{tag_id}``.

        :param workspace_name: the workspace.
        :param tag_id: the tag.
        """
        return self.call(requests.delete_tag(self.workspace(workspace_name), tag_id))

    def add_person_tags(
        self: _Caller, workspace_name: str | None, person_id: str | int, tag_ids: Sequence[str | int]
    ) -> tuple[PersonTag, ...]:
        """
        Tag a person: ``POST .../persons/{person_id}/person-tags``. Returns its tags afterwards.

        :param workspace_name: the workspace.
        :param person_id: the person.
        :param tag_ids: the tags (ones it has already are ignored).
        """
        return self.call(requests.add_tags(self.workspace(workspace_name), person_id, tag_ids))

    def remove_person_tags(
        self: _Caller, workspace_name: str | None, person_id: str | int, tag_ids: Sequence[str | int]
    ) -> tuple[PersonTag, ...]:
        """
        Untag a person: ``POST .../persons/{person_id}/person-tags/remove``. Returns its tags afterwards.

        :param workspace_name: the workspace.
        :param person_id: the person.
        :param tag_ids: the tags.
        """
        return self.call(requests.remove_tags(self.workspace(workspace_name), person_id, tag_ids))
