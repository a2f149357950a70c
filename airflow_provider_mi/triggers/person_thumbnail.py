"""Trigger that waits, in the triggerer, until a person thumbnail upload is terminal."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Collection
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_mi.core.endpoints import ApiRequest, complete_upload_request
from airflow_provider_mi.core.models import DEFAULT_WAITING_REASONS, UploadCompletion, UploadOutcome
from airflow_provider_mi.core.polling import (
    DEFAULT_MAX_CONSECUTIVE_ERRORS,
    ErrorStreak,
    WaitOutcome,
    describe_wait,
    next_interval,
)
from airflow_provider_mi.core.validation import validate_max_consecutive_errors, validate_poke_interval
from airflow_provider_mi.exceptions import MediaIntelligenceError
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceAsyncHook


class MediaIntelligencePersonThumbnailUploadTrigger(BaseTrigger):
    """
    Poll upload completion until the thumbnail is ``COMPLETED`` or has failed for good.

    Only reads (completion is a status check), so it is safe to run again from scratch after a
    triggerer restart. It keeps plain values only: the credentials are read from the connection
    inside the triggerer, never serialized. All triggers of a triggerer that use one connection
    share one connection lookup, one HTTP connection pool and the connection's rate limits.
    Transient HTTP errors are retried by the async hook; checks that still fail count against
    ``max_consecutive_errors``, as in poke mode. At ``end_time`` it checks once more, then gives up.

    :param thumbnail_key: the key to wait for.
    :param workspace_name: the workspace, or ``None`` for the connection's default.
    :param mi_conn_id: the Airflow connection id.
    :param poke_interval: seconds between two polls.
    :param waiting_reasons: failure reasons that mean "not yet" rather than "never".
    :param end_time: Unix time after which the trigger gives up with a ``timeout`` event (the
        sensor's timeout); ``None`` waits for ever.
    :param max_consecutive_errors: checks in a row that may fail with a transient error before the
        trigger gives up with an ``error`` event; ``None`` never gives up.
    :param consecutive_errors: checks that already failed in a row before the trigger started.
    :param exponential_backoff: back off between polls as Airflow's sensors do.
    :param max_wait: the longest interval between two polls with backoff, in seconds.
    """

    def __init__(
        self,
        thumbnail_key: str,
        workspace_name: str | None = None,
        mi_conn_id: str = MediaIntelligenceAsyncHook.default_conn_name,
        poke_interval: float = 60.0,
        waiting_reasons: Collection[str] = DEFAULT_WAITING_REASONS,
        end_time: float | None = None,
        max_consecutive_errors: int | None = DEFAULT_MAX_CONSECUTIVE_ERRORS,
        consecutive_errors: int = 0,
        exponential_backoff: bool = False,
        max_wait: float | None = None,
    ) -> None:
        super().__init__()
        self.thumbnail_key = thumbnail_key
        self.workspace_name = workspace_name
        self.mi_conn_id = mi_conn_id
        self.poke_interval = validate_poke_interval(poke_interval)
        self.waiting_reasons = sorted(waiting_reasons)
        self.end_time = end_time
        self.max_consecutive_errors = validate_max_consecutive_errors(max_consecutive_errors)
        self.consecutive_errors = consecutive_errors
        self.exponential_backoff = exponential_backoff
        self.max_wait = None if max_wait is None else validate_poke_interval(max_wait, "max_wait")
        self._errors = ErrorStreak(self.max_consecutive_errors, consecutive_errors)
        self._last_status = "not checked yet by the trigger"
        self._request: ApiRequest[UploadCompletion] | None = None

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
                "max_consecutive_errors": self.max_consecutive_errors,
                "consecutive_errors": self.consecutive_errors,
                "exponential_backoff": self.exponential_backoff,
                "max_wait": self.max_wait,
            },
        )

    def _event(self, status: WaitOutcome, message: str, **extra: Any) -> TriggerEvent:
        return TriggerEvent(
            {
                "status": status.value,
                "message": message,
                "workspace_name": self.workspace_name,
                "thumbnail_key": self.thumbnail_key,
                "end_time": self.end_time,
                "result": None,
                **extra,
            }
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until terminal, then yield exactly one event."""
        async with MediaIntelligenceAsyncHook.shared(self.mi_conn_id) as hook:
            yield await self._wait(hook)

    async def _wait(self, hook: MediaIntelligenceAsyncHook) -> TriggerEvent:
        poke_count = 2  # the sensor checked once before deferring
        while (event := await self._check(hook)) is None:
            if self.end_time is not None and time.time() >= self.end_time:
                waited = describe_wait(
                    self.thumbnail_key, self.workspace_name, self.mi_conn_id, self._last_status
                )
                return self._event(WaitOutcome.TIMEOUT, f"Sensor has timed out while deferred. {waited}")
            interval = next_interval(
                self.poke_interval,
                poke_count,
                exponential_backoff=self.exponential_backoff,
                max_wait=self.max_wait,
                seed=self.thumbnail_key,
            )
            if self.end_time is not None:  # the last check is made at the deadline itself
                interval = min(interval, max(0.0, self.end_time - time.time()))
            await asyncio.sleep(interval)
            poke_count += 1
        return event

    async def _check(self, hook: MediaIntelligenceAsyncHook) -> TriggerEvent | None:
        """Check once: return the event if the wait is over, ``None`` to keep waiting."""
        previous = self._last_status
        try:
            if self._request is None:  # thousands of triggers poll: build (and check) it once
                settings = await hook.get_settings()
                workspace = settings.resolve_workspace(self.workspace_name, self.mi_conn_id)
                self._request = complete_upload_request(workspace, self.thumbnail_key)
            completion = await hook.call(self._request)
        except MediaIntelligenceError as err:
            failure = err if not err.retryable else self._errors.failed(err)
            if failure is not None:
                return self._event(WaitOutcome.ERROR, str(failure), error=failure.payload())
            self._last_status = f"transient error ({err})"
            self.log.warning("Checking thumbnail %r failed, will check again: %s", self.thumbnail_key, err)
            return None
        self._errors.succeeded()
        status = self._last_status = completion.describe()
        state = completion.outcome(self.waiting_reasons)
        if state is UploadOutcome.COMPLETED:
            return self._event(WaitOutcome.SUCCESS, status, result=completion.to_api_dict())
        if state is UploadOutcome.FAILED:
            return self._event(
                WaitOutcome.FAILED, completion.failure_message(), result=completion.to_api_dict()
            )
        if completion.status is None:
            self.log.warning("Unknown upload status %s; waiting", status)
        elif status != previous:  # thousands of triggers may wait at once: say each new status once
            self.log.info("Still waiting: %s", status)
        else:
            self.log.debug("Still waiting: %s", status)
        return None
