"""What every Media Intelligence operator shares: the connection, the workspace, a lazy hook."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException, BaseOperator

from airflow_provider_mi.exceptions import InvalidParameterError, MediaIntelligenceApiError
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook


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


class MediaIntelligenceBaseOperator(BaseOperator):
    """
    The base of the provider's operators: the connection id, the workspace and a lazily created hook.

    :param workspace_name: the workspace; defaults to the connection's ``workspace_name`` extra.
    :param mi_conn_id: the Airflow connection id.
    """

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
