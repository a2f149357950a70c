"""
The person side of both hooks, declared once.

Each person method is one declaration on :class:`PersonMethods`: the request builder of
:mod:`airflow_provider_mi.core.person_requests` (whose signature, after the workspace, is the
method's) and the docstring. The hook the method is read from decides how it runs: on
:class:`~airflow_provider_mi.hooks.media_intelligence.MediaIntelligenceHook` it returns the result,
on :class:`~airflow_provider_mi.hooks.media_intelligence.MediaIntelligenceAsyncHook` an awaitable
of it (and a listing an async iterator). Signing, limits, retries and error mapping stay in each
hook's ``call``; the arguments are checked by the builder before any request.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, Protocol, TypeVar, overload

from airflow_provider_mi.core import person_requests as requests
from airflow_provider_mi.core import person_rules as rules
from airflow_provider_mi.core.persons import Page

if TYPE_CHECKING:
    from airflow_provider_mi.core.endpoints import ApiRequest
    from airflow_provider_mi.core.settings import ConnectionSettings
    from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceAsyncHook, MediaIntelligenceHook

P = ParamSpec("P")
T = TypeVar("T")
#: One call's request, given the resolved workspace.
Build = Callable[[str], "ApiRequest[T]"]
#: A listing's request for one page, given the resolved workspace and the page number.
BuildPage = Callable[[str, int], "ApiRequest[Page[T]]"]


class _SyncCaller(Protocol):
    def call(self, request: ApiRequest[T], policy: Any = None) -> T: ...

    def workspace(self, workspace_name: str | None) -> str: ...


class _AsyncCaller(Protocol):
    mi_conn_id: str

    async def call(self, request: ApiRequest[T], policy: Any = None) -> T: ...

    async def get_settings(self) -> ConnectionSettings: ...


def _signature(build: Callable[..., Any], skip: int, defaults: dict[str, Any]) -> inspect.Signature:
    """The method's signature: the builder's after its first ``skip`` parameters, the workspace first."""
    parameters = list(inspect.signature(build).parameters.values())[skip:]
    workspace = inspect.Parameter(
        "workspace_name", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="str | None"
    )
    return inspect.Signature(
        [workspace, *(p.replace(default=defaults.get(p.name, p.default)) for p in parameters)]
    )


class _Declared:
    """What both kinds of person method share: the builder, the docstring and the signature shown."""

    def __init__(self, build: Callable[..., Any], doc: str, skip: int, defaults: dict[str, Any]) -> None:
        self.build = build
        self.defaults = defaults
        self.__doc__ = inspect.cleandoc(doc)
        self.__signature__ = _signature(build, skip, defaults)
        self.name = build.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __call__(self, hook: Any, *args: Any, **kwargs: Any) -> Any:
        """Call the method on ``hook``, as ``Hook.method(hook, ...)`` calls a plain method."""
        return self.__get__(hook, type(hook))(*args, **kwargs)  # type: ignore[attr-defined]

    def _bound(self, method: Callable[..., Any]) -> Callable[..., Any]:
        method.__name__ = method.__qualname__ = self.name
        method.__doc__ = self.__doc__
        method.__signature__ = self.__signature__  # type: ignore[attr-defined]
        return method


class PersonMethod(_Declared, Generic[P, T]):
    """
    A person method of both hooks: ``hook.method(workspace_name, *args)`` sends
    ``build(workspace, *args)`` through the hook's ``call``.

    :param build: the request builder; its first parameter is the workspace.
    :param doc: the method's docstring.
    """

    def __init__(self, build: Callable[Concatenate[str, P], ApiRequest[T]], doc: str) -> None:
        super().__init__(build, doc, 1, {})

    @overload
    def __get__(self, hook: None, owner: type | None = None) -> PersonMethod[P, T]: ...

    @overload
    def __get__(
        self, hook: MediaIntelligenceAsyncHook, owner: type | None = None
    ) -> Callable[Concatenate[str | None, P], Coroutine[Any, Any, T]]: ...

    @overload
    def __get__(
        self, hook: MediaIntelligenceHook, owner: type | None = None
    ) -> Callable[Concatenate[str | None, P], T]: ...

    def __get__(self, hook: Any, owner: type | None = None) -> Any:
        if hook is None:
            return self
        build = self.build

        def method(workspace_name: str | None, *args: Any, **kwargs: Any) -> Any:
            return hook._call_in(workspace_name, lambda workspace: build(workspace, *args, **kwargs))

        return self._bound(method)


class PersonPages(_Declared, Generic[P, T]):
    """
    A listing of both hooks: ``hook.method(workspace_name, *args)`` iterates over every item, page
    after page of ``build(workspace, page_num, *args)``.

    :param build: the builder of one page's request; its first parameters are the workspace and
        the page number.
    :param doc: the method's docstring.
    :param defaults: defaults of the method that differ from the builder's (e.g. a larger page).
    """

    def __init__(
        self, build: Callable[Concatenate[str, int, P], ApiRequest[Page[T]]], doc: str, **defaults: Any
    ) -> None:
        super().__init__(build, doc, 2, defaults)

    @overload
    def __get__(self, hook: None, owner: type | None = None) -> PersonPages[P, T]: ...

    @overload
    def __get__(
        self, hook: MediaIntelligenceAsyncHook, owner: type | None = None
    ) -> Callable[Concatenate[str | None, P], AsyncIterator[T]]: ...

    @overload
    def __get__(
        self, hook: MediaIntelligenceHook, owner: type | None = None
    ) -> Callable[Concatenate[str | None, P], Iterator[T]]: ...

    def __get__(self, hook: Any, owner: type | None = None) -> Any:
        if hook is None:
            return self
        build, defaults = self.build, self.defaults

        def method(workspace_name: str | None, *args: Any, **kwargs: Any) -> Any:
            options = {**defaults, **kwargs}
            return hook._pages_in(
                workspace_name, lambda workspace, number: build(workspace, number, *args, **options)
            )

        return self._bound(method)


class PersonMethods:
    """
    Persons, their thumbnails and tags. Every argument is checked by the documented rules before
    any request; destructive calls (delete, merge, removing thumbnails or tags) are methods of
    their own, never a side effect of another. ``workspace_name=None`` is the connection's default.
    """

    create_person = PersonMethod(
        requests.create_person,
        """
        Register a person from uploaded thumbnails: ``POST .../persons``.

        :param workspace_name: the workspace.
        :param thumbnail_keys: 1 to 100 keys of completed uploads (a key expires 24 hours after its upload).
        :param name: 1 to 50 characters, unique in the workspace; ``None`` registers an anonymous person.
        :param description: up to 700 characters.
        :param primary_thumbnail_key: which key is the primary thumbnail; ``None``: the first.
        """,
    )

    get_person = PersonMethod(
        requests.get_person,
        """
        Describe one person: ``GET .../persons/{person_id}``.

        :param workspace_name: the workspace.
        :param person_id: the person.
        """,
    )

    update_person = PersonMethod(
        requests.update_person,
        """
        Change what is given of a person: ``PATCH .../persons/{person_id}``.

        :param workspace_name: the workspace.
        :param person_id: the person.
        :param name: a new name (names an anonymous person too).
        :param description: a new description.
        :param primary_thumbnail_id: the id of the thumbnail to make primary.
        """,
    )

    delete_person = PersonMethod(
        requests.delete_person,
        """
        Delete a person, irreversibly: ``DELETE .../persons/{person_id}``. Returns it as it was.

        :param workspace_name: the workspace.
        :param person_id: the person.
        """,
    )

    list_persons = PersonPages(
        requests.list_persons,
        """
        Yield every person of the workspace, page after page: ``GET .../persons``.

        :param workspace_name: the workspace.
        :param name: only persons whose name contains this (2 to 50 characters).
        :param tag_ids: only persons with these tags (at most 30).
        :param page_size: persons per request, 1 to 1000.
        """,
    )

    search_persons = PersonMethod(
        requests.search_persons,
        """
        One page of the persons matching every filter: ``POST .../persons/search``.

        :param workspace_name: the workspace.
        :param page_num: the page, from 1.
        :param filters: ``page_size`` (1 to 50), ``name``, ``person_ids``, ``tag_ids``, ``name_type``
            (``NAMED`` or ``ANONYMOUS``), ``sort_column`` (``ASSET_COUNT``, ``CREATED_AT``,
            ``PERSON_ID``, ``NAME``), ``sort_type`` (``ASC``, ``DESC``).
        """,
    )

    merge_persons = PersonMethod(
        requests.merge_persons,
        """
        Merge up to 10 persons into ``person_id``, irreversibly: ``POST .../persons/{person_id}/merge``.

        :param workspace_name: the workspace.
        :param person_id: the person that remains.
        :param merged_person_ids: the persons whose thumbnails and assets move to it, and who are gone.
        """,
    )

    add_person_thumbnails = PersonMethod(
        requests.add_thumbnails,
        """
        Add uploaded thumbnails to a person: ``POST .../persons/{person_id}/person-thumbnail``.
        Returns the person's thumbnails afterwards.

        :param workspace_name: the workspace.
        :param person_id: the person.
        :param thumbnail_keys: keys of completed uploads.
        :param primary_thumbnail_key: one of them to make primary; ``None`` keeps the person's.
        """,
    )

    remove_person_thumbnails = PersonMethod(
        requests.remove_thumbnails,
        """
        Remove thumbnails from a person (never all of them): ``POST .../person-thumbnail/remove``.
        Returns the thumbnails that remain.

        :param workspace_name: the workspace.
        :param person_id: the person.
        :param thumbnail_ids: the thumbnails' ids (unknown ones are ignored by the API).
        """,
    )

    compare_thumbnail = PersonMethod(
        requests.compare_thumbnail,
        """
        Registered persons resembling an uploaded thumbnail, best first:
        ``POST .../persons/recommend-by-thumbnail``. Empty when none scores ``score_threshold``.

        :param workspace_name: the workspace.
        :param thumbnail_key: the key of a completed upload.
        :param person_count: candidates at most, 1 to 10.
        :param score_threshold: the lowest score, 80 to 100.
        """,
    )

    similar_persons = PersonMethod(
        requests.similar_persons,
        """
        Registered persons resembling a person, most similar first: ``GET .../persons/{person_id}/similar``.

        :param workspace_name: the workspace.
        :param person_id: the person.
        :param person_count: candidates at most, 1 to 10.
        :param score_threshold: the lowest score, 80 to 100.
        """,
    )

    list_person_tags = PersonPages(
        requests.list_tags,
        """
        Yield every person tag of the workspace, page after page: ``GET .../person-tags``.

        :param workspace_name: the workspace.
        :param name: only tags whose name contains this.
        :param page_size: tags per request, 1 to 50.
        """,
        page_size=rules.PAGE_SIZES["tags"][0],
    )

    create_person_tag = PersonMethod(
        requests.create_tag,
        """
        Create a tag: ``POST .../person-tags``.

        :param workspace_name: the workspace.
        :param name: 1 to 30 characters, unique in the workspace.
        """,
    )

    delete_person_tag = PersonMethod(
        requests.delete_tag,
        """
        Delete a tag: ``DELETE .../person-tags/{tag_id}``.

        :param workspace_name: the workspace.
        :param tag_id: the tag.
        """,
    )

    add_person_tags = PersonMethod(
        requests.add_tags,
        """
        Tag a person: ``POST .../persons/{person_id}/person-tags``. Returns its tags afterwards.

        :param workspace_name: the workspace.
        :param person_id: the person.
        :param tag_ids: the tags (ones it has already are ignored).
        """,
    )

    remove_person_tags = PersonMethod(
        requests.remove_tags,
        """
        Untag a person: ``POST .../persons/{person_id}/person-tags/remove``. Returns its tags afterwards.

        :param workspace_name: the workspace.
        :param person_id: the person.
        :param tag_ids: the tags.
        """,
    )


class PersonsMixin(PersonMethods):
    """The person methods of the synchronous hook: each returns its result."""

    def _call_in(self: _SyncCaller, workspace_name: str | None, build: Build[T]) -> T:
        return self.call(build(self.workspace(workspace_name)))

    def _pages_in(self: _SyncCaller, workspace_name: str | None, page: BuildPage[T]) -> Iterator[T]:
        """Build the first page's request now (its arguments checked), then fetch pages as consumed."""
        workspace = self.workspace(workspace_name)
        first = page(workspace, 1)

        def items() -> Iterator[T]:
            request, number = first, 1
            while True:
                fetched = self.call(request)
                yield from fetched.items
                if fetched.is_last:
                    return
                number += 1
                request = page(workspace, number)

        return items()


class AsyncPersonsMixin(PersonMethods):
    """
    The person methods of the asynchronous hook: each returns an awaitable of its result, and a
    listing an async iterator (its arguments are checked when the first item is asked for, before
    any request).
    """

    async def _call_in(self: _AsyncCaller, workspace_name: str | None, build: Build[T]) -> T:
        settings = await self.get_settings()
        return await self.call(build(settings.resolve_workspace(workspace_name, self.mi_conn_id)))

    async def _pages_in(
        self: _AsyncCaller, workspace_name: str | None, page: BuildPage[T]
    ) -> AsyncIterator[T]:
        settings = await self.get_settings()
        workspace = settings.resolve_workspace(workspace_name, self.mi_conn_id)
        request, number = page(workspace, 1), 1
        while True:
            fetched = await self.call(request)
            for item in fetched.items:
                yield item
            if fetched.is_last:
                return
            number += 1
            request = page(workspace, number)
