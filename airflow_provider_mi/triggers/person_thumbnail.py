"""Trigger that waits, in the triggerer, until one or many person thumbnail uploads are terminal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_mi.core.endpoints import ApiRequest, complete_upload_request
from airflow_provider_mi.core.models import DEFAULT_WAITING_REASONS, UploadCompletion
from airflow_provider_mi.core.polling import (
    DEFAULT_MAX_CONSECUTIVE_ERRORS,
    CheckAnswer,
    ErrorStreak,
    KeysOutcome,
    WaitOutcome,
    describe_wait,
    poll_keys,
    run_polls_async,
)
from airflow_provider_mi.core.validation import (
    validate_max_consecutive_errors,
    validate_poke_interval,
    validate_thumbnail_keys,
)
from airflow_provider_mi.exceptions import InvalidParameterError, MediaIntelligenceError
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceAsyncHook


class MediaIntelligencePersonThumbnailUploadTrigger(BaseTrigger):
    """
    Poll upload completion until the thumbnail (or every one of ``thumbnail_keys``) is terminal.

    Only reads (completion is a status check), so it is safe to run again from scratch after a
    triggerer restart. It keeps plain values only: the credentials are read from the connection
    inside the triggerer, never serialized. All triggers of a triggerer that use one connection
    share one connection lookup, one HTTP connection pool and the connection's rate limits.
    Transient HTTP errors are retried by the async hook; checks that still fail count against
    ``max_consecutive_errors``, as in poke mode. At ``end_time`` it checks once more, then gives up.

    Given ``thumbnail_keys`` (the upload operators' ``wait_for_completion``), one trigger waits for
    them all: each round checks the keys still waiting, a few at once under the rate limits, and
    a key that failed for good does not end the wait for the others. Its one event then says what
    became of every key (``completed``, ``failed``, ``waiting``; see
    :class:`~airflow_provider_mi.core.polling.KeysOutcome`) instead of ``thumbnail_key`` and
    ``result``. The rules are :func:`~airflow_provider_mi.core.polling.poll_keys`', as in the task.

    :param thumbnail_key: the key to wait for (the sensor's).
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
    :param thumbnail_keys: the keys to wait for, instead of ``thumbnail_key``.
    """

    def __init__(
        self,
        thumbnail_key: str | None = None,
        workspace_name: str | None = None,
        mi_conn_id: str = MediaIntelligenceAsyncHook.default_conn_name,
        poke_interval: float = 60.0,
        waiting_reasons: Collection[str] = DEFAULT_WAITING_REASONS,
        end_time: float | None = None,
        max_consecutive_errors: int | None = DEFAULT_MAX_CONSECUTIVE_ERRORS,
        consecutive_errors: int = 0,
        exponential_backoff: bool = False,
        max_wait: float | None = None,
        thumbnail_keys: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        if (thumbnail_key is None) == (thumbnail_keys is None):
            raise InvalidParameterError("Pass exactly one of thumbnail_key and thumbnail_keys.")
        self.thumbnail_key = thumbnail_key
        self.thumbnail_keys = None if thumbnail_keys is None else validate_thumbnail_keys(thumbnail_keys)
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
        self._requests: dict[str, ApiRequest[UploadCompletion]] = {}

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and the plain keyword arguments (no secret) to rebuild the trigger."""
        keys: dict[str, Any] = (
            {"thumbnail_key": self.thumbnail_key}
            if self.thumbnail_keys is None
            else {"thumbnail_keys": list(self.thumbnail_keys)}
        )
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                **keys,
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

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Poll until terminal, then yield exactly one event."""
        async with MediaIntelligenceAsyncHook.shared(self.mi_conn_id) as hook:
            yield await self._wait(hook)

    async def _wait(self, hook: MediaIntelligenceAsyncHook) -> TriggerEvent:
        keys = [self.thumbnail_key] if self.thumbnail_key is not None else list(self.thumbnail_keys or ())
        steps = poll_keys(
            keys,
            waiting_reasons=self.waiting_reasons,
            poke_interval=self.poke_interval,
            end_time=self.end_time,
            errors=self._errors,
            log=self.log,
            exponential_backoff=self.exponential_backoff,
            max_wait=self.max_wait,
        )

        async def check(batch: Sequence[str]) -> list[CheckAnswer]:
            if len(batch) == 1:  # a sensor's key: awaited as it is, no task to create and gather
                return [await self._check(hook, batch[0])]
            return list(await asyncio.gather(*(self._check(hook, key) for key in batch)))

        outcome = await run_polls_async(steps, check)
        return TriggerEvent(self._payload(outcome))

    async def _check(self, hook: MediaIntelligenceAsyncHook, key: str) -> CheckAnswer:
        """Check one key: its completion, or the error checking it raised."""
        try:
            request = self._requests.get(key)
            if request is None:  # thousands of triggers poll: build (and check) it once
                settings = await hook.get_settings()
                workspace = settings.resolve_workspace(self.workspace_name, self.mi_conn_id)
                request = self._requests[key] = complete_upload_request(workspace, key)
            return await hook.call(request)
        except MediaIntelligenceError as err:
            return err

    def _payload(self, outcome: KeysOutcome) -> dict[str, Any]:
        """The event: every key's outcome, or for ``thumbnail_key`` the sensor's own fields."""
        common = {"workspace_name": self.workspace_name, "end_time": self.end_time}
        if self.thumbnail_key is None:
            message = outcome.describe(self.workspace_name, self.mi_conn_id)
            if outcome.error is not None:
                message = f"{outcome.error} {message}"
            elif outcome.status is WaitOutcome.TIMEOUT:
                message = f"Timed out while deferred. {message}"
            return {**outcome.to_event(), "message": message, **common}
        key = self.thumbnail_key
        payload: dict[str, Any] = {"status": outcome.status.value, "thumbnail_key": key, "result": None}
        if outcome.error is not None:
            payload.update(message=str(outcome.error), error=outcome.error.payload())
        elif outcome.status is WaitOutcome.TIMEOUT:
            waited = describe_wait(key, self.workspace_name, self.mi_conn_id, outcome.waiting[key])
            payload["message"] = f"Sensor has timed out while deferred. {waited}"
        elif outcome.status is WaitOutcome.FAILED:
            failed = outcome.failed[key]
            payload.update(message=failed.failure_message(), result=failed.to_api_dict())
        else:
            completed = outcome.completed[key]
            payload.update(message=completed.describe(), result=completed.to_api_dict())
        return {**payload, **common}
