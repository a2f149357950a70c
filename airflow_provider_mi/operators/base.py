"""What every Media Intelligence operator shares: the connection, the workspace, a lazy hook."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.common.compat.sdk import AirflowFailException, Asset, BaseOperator, Context

from airflow_provider_mi import lineage
from airflow_provider_mi.exceptions import InvalidParameterError, MediaIntelligenceApiError
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook
from airflow_provider_mi.links import WORKSPACE_URL_XCOM_KEY, MediaIntelligenceWorkspaceLink

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

#: The methods whose return value is the task's result (``execute_complete``: after a deferral).
RESULT_METHODS = ("execute", "execute_complete")


@contextmanager
def failing_without_retries_on_bad_input() -> Iterator[None]:
    """
    Turn an :class:`InvalidParameterError` (a bad value: nothing was sent) into a failure that skips
    the task's retries, since running the task again with the same values cannot help.
    """
    try:
        yield
    except InvalidParameterError as err:
        raise AirflowFailException(str(err)) from err


@contextmanager
def failing_without_retries_on_refusal() -> Iterator[None]:
    """
    Turn the API's HTTP 400 (it refused the request's values, e.g. an expired thumbnail key or a
    taken name) into a failure that skips the task's retries: the same request is refused again.
    """
    try:
        yield
    except MediaIntelligenceApiError as err:
        if err.status != 400:
            raise
        raise AirflowFailException(str(err)) from err


def _keeping_result(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def run(self: MediaIntelligenceBaseOperator, *args: Any, **kwargs: Any) -> Any:
        result = method(self, *args, **kwargs)
        self._mi_result = result
        return result

    return run


class MediaIntelligenceBaseOperator(BaseOperator):
    """
    The base of the provider's operators: the connection id, the workspace and a lazily created hook.

    After a successful run (in ``post_execute``), every operator reads its workspace once for the
    *MI Workspace* extra link (XCom ``mi_workspace_url``; a failure to read it is logged, never
    the task's) and puts :meth:`asset_event_extra` on the events of its ``outlets``. With the
    OpenLineage provider installed, :meth:`get_openlineage_facets_on_complete` reports the files it
    read and the workspace datasets it read and wrote (see :mod:`airflow_provider_mi.lineage`).

    :param workspace_name: the workspace; defaults to the connection's ``workspace_name`` extra.
    :param mi_conn_id: the Airflow connection id.
    """

    operator_extra_links = (MediaIntelligenceWorkspaceLink(),)
    #: The workspace datasets the operator reads and writes (``lineage.PERSONS``, ``PERSON_THUMBNAILS``).
    lineage_reads: ClassVar[tuple[str, ...]] = ()
    lineage_writes: ClassVar[tuple[str, ...]] = ()
    _mi_result: Any  # what the last execute returned, until post_execute

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in RESULT_METHODS:
            if name in cls.__dict__:  # the result is kept for post_execute, which Airflow 3 calls without it
                setattr(cls, name, _keeping_result(cls.__dict__[name]))

    def __init__(
        self,
        *,
        workspace_name: str | None = None,
        mi_conn_id: str = MediaIntelligenceHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.workspace_name = workspace_name
        self.mi_conn_id = mi_conn_id

    @cached_property
    def hook(self) -> MediaIntelligenceHook:
        """The hook, created on first use (never at DAG parse time)."""
        return MediaIntelligenceHook(mi_conn_id=self.mi_conn_id)

    def lineage_sources(self) -> list[str]:
        """The files, folders or patterns the operator reads images from (none by default)."""
        return []

    def asset_event_extra(self, result: Any) -> dict[str, Any]:
        """
        The extra of the events of the task's ``outlets``: small (counts, keys, person ids) whatever
        the batch's size. ``result`` is what ``execute`` returned.
        """
        return {}

    def post_execute(self, context: Context, result: Any = None) -> None:
        """Keep the workspace URL for the extra link and describe the outlets' asset events."""
        super().post_execute(context, result)
        result = self.__dict__.pop("_mi_result", result)
        try:
            workspace = self.hook.workspace(self.workspace_name)
        except InvalidParameterError:
            return  # only when execute did not need the workspace: nothing to link or describe
        self._keep_workspace_url(context, workspace)
        extra = {"workspace": workspace, **self.asset_event_extra(result)}
        events = context.get("outlet_events")
        for outlet in self.outlets or ():
            if isinstance(outlet, Asset) and events is not None:
                events[outlet].extra.update(extra)

    def _keep_workspace_url(self, context: Context, workspace: str) -> None:
        try:
            url = self.hook.get_workspace(workspace).workspace_url
        except Exception as err:  # the link is a convenience: it never fails the task
            self.log.warning("Cannot read workspace %s for its link: %s", workspace, err)
            return
        if url:
            context["ti"].xcom_push(key=WORKSPACE_URL_XCOM_KEY, value=url)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage:
        """
        OpenLineage: the images read (``file://<host>`` datasets, by path) and the workspace's
        ``persons`` and ``person-thumbnails`` datasets read and written.
        """
        from airflow.providers.openlineage.extractors import OperatorLineage

        base_url = self.hook.settings.base_url
        workspace = self.hook.workspace(self.workspace_name)
        return OperatorLineage(
            inputs=lineage.datasets(base_url, workspace, self.lineage_reads, self.lineage_sources()),
            outputs=lineage.datasets(base_url, workspace, self.lineage_writes),
        )
