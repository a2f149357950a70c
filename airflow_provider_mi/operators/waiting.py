"""
``wait_for_completion`` of the upload operators: wait for their keys in the task, or in the triggerer.

The wait's rules are :func:`~airflow_provider_mi.core.polling.poll_keys`', the sensor's and the
trigger's: in the task it is driven with the sync hook, deferred by
:class:`~airflow_provider_mi.triggers.person_thumbnail.MediaIntelligencePersonThumbnailUploadTrigger`,
once for all the keys.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from airflow_provider_mi.core.models import DEFAULT_WAITING_REASONS
from airflow_provider_mi.core.polling import (
    CheckAnswer,
    ErrorStreak,
    KeysOutcome,
    WaitOutcome,
    poll_keys,
    run_polls,
)
from airflow_provider_mi.core.retry import LoggerLike
from airflow_provider_mi.core.validation import validate_poke_interval
from airflow_provider_mi.exceptions import InvalidParameterError, MediaIntelligenceError
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook
from airflow_provider_mi.triggers.person_thumbnail import MediaIntelligencePersonThumbnailUploadTrigger

#: Seconds between two completion checks of the keys still waiting.
DEFAULT_POLL_INTERVAL = 5.0
#: Seconds a task waits for its keys before it fails.
DEFAULT_TIMEOUT = 600.0


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidParameterError(f"{name} must be True or False, got {value!r}.")
    return value


def _seconds(name: str, value: Any, example: str) -> float:
    try:
        return validate_poke_interval(value, name)
    except InvalidParameterError:
        raise InvalidParameterError(
            f"{name} must be a positive number of seconds, got {value!r}. E.g. {name}={example}."
        ) from None


@dataclass(frozen=True)
class CompletionWait:
    """
    How an upload operator waits for ``COMPLETED``: whether, where, how often and how long.

    :param wait_for_completion: wait for the keys the API does not see yet, or return at once.
    :param deferrable: wait in the triggerer (one trigger for all the keys) instead of the task.
    :param poll_interval: seconds between two checks of the keys still waiting.
    :param timeout: seconds to wait, from the end of the upload, before the task fails.
    """

    wait_for_completion: bool
    deferrable: bool
    poll_interval: float
    timeout: float

    @classmethod
    def checked(
        cls, wait_for_completion: Any, deferrable: Any, poll_interval: Any, timeout: Any
    ) -> CompletionWait:
        """Return the settings, or raise :class:`InvalidParameterError` naming the bad one."""
        return cls(
            _flag("wait_for_completion", wait_for_completion),
            _flag("deferrable", deferrable),
            _seconds("poll_interval", poll_interval, "5"),
            _seconds("timeout", timeout, "600"),
        )

    def in_task(
        self, hook: MediaIntelligenceHook, workspace_name: str | None, keys: Sequence[str], log: LoggerLike
    ) -> KeysOutcome:
        """Wait for ``keys`` here, blocking, by the rules the trigger follows; the keys were just checked."""
        log.info(
            "Waiting for %d thumbnails to be COMPLETED (checks every %g s, timeout %g s)",
            len(keys),
            self.poll_interval,
            self.timeout,
        )
        steps = poll_keys(
            keys,
            waiting_reasons=DEFAULT_WAITING_REASONS,
            poke_interval=self.poll_interval,
            end_time=time.time() + self.timeout,
            errors=ErrorStreak(),
            log=log,
            pause_first=True,
        )

        def check(batch: Sequence[str]) -> list[CheckAnswer]:
            answers: list[CheckAnswer] = []
            for key in batch:
                try:
                    answers.append(hook.complete_person_thumbnail_upload(workspace_name, key))
                except MediaIntelligenceError as err:
                    answers.append(err)
            return answers

        return run_polls(steps, check)

    def trigger(
        self, keys: Sequence[str], workspace_name: str | None, mi_conn_id: str
    ) -> MediaIntelligencePersonThumbnailUploadTrigger:
        """The one trigger that waits for all of ``keys`` in the triggerer."""
        return MediaIntelligencePersonThumbnailUploadTrigger(
            thumbnail_keys=list(keys),
            workspace_name=workspace_name,
            mi_conn_id=mi_conn_id,
            poke_interval=self.poll_interval,
            end_time=time.time() + self.timeout,
        )

    def unfinished(
        self, outcome: KeysOutcome, workspace_name: str | None, mi_conn_id: str, *, resumable: bool = False
    ) -> str | None:
        """
        Say why the wait ended with keys not completed (timeout, error), with what to do; else ``None``.

        :param outcome: the wait's outcome.
        :param workspace_name: the workspace of the keys.
        :param mi_conn_id: the connection, for the sensor's example.
        :param resumable: whether a retry resumes from a manifest instead of uploading again.
        """
        if outcome.status not in (WaitOutcome.TIMEOUT, WaitOutcome.ERROR):
            return None
        what = outcome.describe(workspace_name, mi_conn_id)
        cause = (
            f"not COMPLETED within timeout={self.timeout:g} s"
            if outcome.status is WaitOutcome.TIMEOUT
            else f"the wait ended with an error: {outcome.error}"
        )
        retry = (
            "a retry of this task checks them again (the manifest keeps their keys)"
            if resumable
            else "a retry of this task would upload the images again"
        )
        return (
            f"Waiting for the uploads failed: {cause}. {what} Raise timeout, or wait for the keys not "
            f"completed with MediaIntelligencePersonThumbnailUploadSensor; {retry}."
        )
