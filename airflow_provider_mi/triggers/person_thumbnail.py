"""Trigger that waits, in the triggerer, until a person thumbnail upload is terminal."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Collection
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_mi.core.models import DEFAULT_WAITING_REASONS, UploadState
from airflow_provider_mi.core.validation import validate_poke_interval
from airflow_provider_mi.exceptions import MediaIntelligenceError
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceAsyncHook

#: Event statuses: the upload completed, failed for good, the wait hit an error or timed out.
SUCCESS, FAILED, ERROR, TIMEOUT = "success", "failed", "error", "timeout"


def describe_wait(thumbnail_key: str, workspace_name: str | None, mi_conn_id: str, last_status: str) -> str:
    """Say what a sensor waited for and what it saw last, for timeout messages."""
    workspace = workspace_name or f"the default of connection {mi_conn_id!r}"
    return f"Waited for thumbnail {thumbnail_key!r} in workspace {workspace}; last status: {last_status}."


class PersonThumbnailUploadTrigger(BaseTrigger):
    """
    Poll upload completion until the thumbnail is ``COMPLETED`` or has failed for good.

    Only reads (completion is a status check), so it is safe to run again from scratch after a
    triggerer restart. It keeps plain values only: the credentials are read from the connection
    inside the triggerer, never serialized. All triggers of a triggerer that use one connection
    share one connection lookup, one HTTP connection pool and the connection's rate limits.
    Transient HTTP errors are retried by the async hook and, if they persist, the trigger keeps
    polling; the sensor's timeout bounds the wait.

    :param thumbnail_key: the key to wait for.
    :param workspace_name: the workspace, or ``None`` for the connection's default.
    :param mi_conn_id: the Airflow connection id.
    :param poke_interval: seconds between two polls.
    :param waiting_reasons: failure reasons that mean "not yet" rather than "never".
    :param end_time: Unix time after which the trigger gives up with a ``timeout`` event (the
        sensor's timeout); ``None`` waits for ever.
    """

    def __init__(
        self,
        thumbnail_key: str,
        workspace_name: str | None = None,
        mi_conn_id: str = MediaIntelligenceAsyncHook.default_conn_name,
        poke_interval: float = 60.0,
        waiting_reasons: Collection[str] = DEFAULT_WAITING_REASONS,
        end_time: float | None = None,
    ) -> None:
        super().__init__()
        self.thumbnail_key = thumbnail_key
        self.workspace_name = workspace_name
        self.mi_conn_id = mi_conn_id
        self.poke_interval = validate_poke_interval(poke_interval)
        self.waiting_reasons = sorted(waiting_reasons)
        self.end_time = end_time
        self._last_status = "not checked yet by the trigger"

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and the plain keyword arguments (no secret) to rebuild the trigger."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "thumbnail_key": self.thumbnail_key,
                "workspace_name": self.workspace_name,
                "mi_conn_id": self.mi_conn_id,
                "poke_interval": self.poke_interval,
                "waiting_reasons": list(self.waiting_reasons),
                "end_time": self.end_time,
            },
        )

    def _event(self, status: str, message: str, result: dict[str, Any] | None = None) -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status,
                "message": message,
                "workspace_name": self.workspace_name,
                "thumbnail_key": self.thumbnail_key,
                "result": result,
            }
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until terminal, then yield exactly one event."""
        async with MediaIntelligenceAsyncHook.shared(self.mi_conn_id) as hook:
            yield await self._wait(hook)

    async def _wait(self, hook: MediaIntelligenceAsyncHook) -> TriggerEvent:
        while (event := await self._check(hook)) is None:
            if self.end_time is not None and time.time() + self.poke_interval > self.end_time:
                await asyncio.sleep(max(0.0, self.end_time - time.time()))
                waited = describe_wait(
                    self.thumbnail_key, self.workspace_name, self.mi_conn_id, self._last_status
                )
                return self._event(TIMEOUT, f"Sensor has timed out while deferred. {waited}")
            await asyncio.sleep(self.poke_interval)
        return event

    async def _check(self, hook: MediaIntelligenceAsyncHook) -> TriggerEvent | None:
        """Check once: return the event if the upload is terminal, ``None`` to keep waiting."""
        previous = self._last_status
        try:
            completion = await hook.complete_person_thumbnail_upload(self.workspace_name, self.thumbnail_key)
        except MediaIntelligenceError as err:
            if not err.retryable:
                return self._event(ERROR, str(err))
            self._last_status = f"transient error ({err})"
            self.log.warning("Checking thumbnail %r failed, will check again: %s", self.thumbnail_key, err)
            return None
        status = self._last_status = completion.describe()
        state = completion.state(self.waiting_reasons)
        if state is UploadState.COMPLETED:
            return self._event(SUCCESS, status, completion.to_api_dict())
        if state is UploadState.FAILED:
            return self._event(FAILED, completion.failure_message(), completion.to_api_dict())
        if completion.status is None:
            self.log.warning("Unknown upload status %s; waiting", status)
        elif status != previous:  # thousands of triggers may wait at once: say each new status once
            self.log.info("Still waiting: %s", status)
        else:
            self.log.debug("Still waiting: %s", status)
        return None
