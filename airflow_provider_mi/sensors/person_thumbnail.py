"""Sensor that waits until a person thumbnail upload is terminal."""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from datetime import timedelta
from functools import cached_property
from typing import Any, NoReturn

from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    BaseSensorOperator,
    Context,
    PokeReturnValue,
    conf,
)

from airflow_provider_mi.core.models import DEFAULT_WAITING_REASONS, UploadFailureReason, UploadOutcome
from airflow_provider_mi.core.polling import (
    DEFAULT_MAX_CONSECUTIVE_ERRORS,
    ErrorStreak,
    WaitOutcome,
    describe_wait,
)
from airflow_provider_mi.core.validation import validate_max_consecutive_errors, validate_poke_interval
from airflow_provider_mi.exceptions import InvalidParameterError, MediaIntelligenceError, error_from_payload
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook
from airflow_provider_mi.triggers.person_thumbnail import MediaIntelligencePersonThumbnailUploadTrigger


def _validate_waiting_reasons(reasons: Collection[str]) -> frozenset[str]:
    known = {reason.value for reason in UploadFailureReason}
    if isinstance(reasons, str) or not all(isinstance(reason, str) for reason in reasons):
        raise InvalidParameterError(
            f"waiting_reasons must be a list of failure reasons, got {reasons!r}. E.g. ['FILE_NOT_EXIST']."
        )
    unknown = sorted(set(reasons) - known)
    if unknown:
        raise InvalidParameterError(
            f"waiting_reasons has unknown reasons {unknown}. Choose from {sorted(known)}."
        )
    return frozenset(reasons)


class MediaIntelligencePersonThumbnailUploadSensor(BaseSensorOperator):
    """
    Wait until a person thumbnail upload is ``COMPLETED``; fail at once if it failed for good.

    ``FAILED`` with a reason in ``waiting_reasons`` (by default ``FILE_NOT_EXIST``: the upload is
    not visible yet) and unknown statuses keep the sensor waiting, as do transient HTTP errors,
    but only ``max_consecutive_errors`` checks in a row may fail so (a wrong host must not wait out
    the timeout). Any other failure reason fails the task at once, without retries (``soft_fail``
    turns it into a skip). ``soft_fail``, ``never_fail`` and ``silent_fail`` mean the same in
    every mode, deferred included. Returns the API's result,
    ``{"uploadStatus": ..., "uploadMessage": ...}``, as XCom.

    In reschedule mode a streak of errors is ridden out in place (the count would not survive a
    reschedule), so the worker slot is held while the API is unreachable, at most
    ``max_consecutive_errors`` polls.

    :param thumbnail_key: the key to wait for. (templated)
    :param workspace_name: the workspace; defaults to the connection's ``workspace_name`` extra.
        (templated)
    :param mi_conn_id: the Airflow connection id. (templated)
    :param waiting_reasons: failure reasons that mean "not yet" rather than "never".
    :param max_consecutive_errors: checks in a row that may fail with a transient error (after the
        hook's own retries) before the task fails with the last error; ``None`` waits through
        errors until the timeout.
    :param deferrable: wait in the triggerer instead of holding a worker slot.
    """

    template_fields: Sequence[str] = ("thumbnail_key", "workspace_name", "mi_conn_id")

    def __init__(
        self,
        *,
        thumbnail_key: str,
        workspace_name: str | None = None,
        mi_conn_id: str = MediaIntelligenceHook.default_conn_name,
        waiting_reasons: Collection[str] = DEFAULT_WAITING_REASONS,
        max_consecutive_errors: int | None = DEFAULT_MAX_CONSECUTIVE_ERRORS,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        validate_poke_interval(self.poke_interval)
        self.thumbnail_key = thumbnail_key
        self.workspace_name = workspace_name
        self.mi_conn_id = mi_conn_id
        self.waiting_reasons = _validate_waiting_reasons(waiting_reasons)
        self.max_consecutive_errors = validate_max_consecutive_errors(max_consecutive_errors)
        self.deferrable = deferrable
        self._errors = ErrorStreak(self.max_consecutive_errors)
        self._last_status = "not checked yet in this try"

    @cached_property
    def hook(self) -> MediaIntelligenceHook:
        """The hook, created on first use (never at DAG parse time)."""
        return MediaIntelligenceHook(mi_conn_id=self.mi_conn_id)

    def poke(self, context: Context) -> PokeReturnValue | bool:
        """Check the upload: done, still waiting, or failed for good."""
        while True:
            try:
                return self._check()
            except MediaIntelligenceError as err:
                if not err.retryable:
                    raise
                if (gave_up := self._errors.failed(err)) is not None:
                    raise gave_up from err
                self._last_status = f"transient error ({err})"
                self.log.warning(
                    "Checking thumbnail %r failed, will check again: %s", self.thumbnail_key, err
                )
                if not (self.reschedule and self.max_consecutive_errors):
                    return False
            time.sleep(self.poke_interval)  # reschedule mode: a reschedule would forget the streak

    def _check(self) -> PokeReturnValue | bool:
        completion = self.hook.complete_person_thumbnail_upload(self.workspace_name, self.thumbnail_key)
        self._errors.succeeded()
        self._last_status = completion.describe()
        state = completion.outcome(self.waiting_reasons)
        if state is UploadOutcome.COMPLETED:
            return PokeReturnValue(is_done=True, xcom_value=completion.to_api_dict())
        if state is UploadOutcome.FAILED:
            raise AirflowFailException(completion.failure_message())
        if completion.status is None:
            self.log.warning("Unknown upload status %s; waiting", completion.describe())
        else:
            self.log.info("Still waiting: %s", completion.describe())
        return False

    def execute(self, context: Context) -> Any:
        """Poke (or reschedule) as any sensor, or check once and defer to the trigger."""
        if not self.deferrable:
            try:
                return super().execute(context)
            except AirflowSensorTimeout as err:
                waited = describe_wait(
                    self.thumbnail_key, self.workspace_name, self.mi_conn_id, self._last_status
                )
                raise AirflowSensorTimeout(f"{err} {waited}") from None
        try:
            poked = self.poke(context)
        except Exception as err:
            poked = self._keep_waiting_after(err)
        if isinstance(poked, PokeReturnValue):
            return poked.xcom_value
        self._defer(time.time() + self.timeout, self._errors.count)

    def _defer(self, end_time: float, consecutive_errors: int = 0) -> NoReturn:
        self.defer(
            trigger=MediaIntelligencePersonThumbnailUploadTrigger(
                thumbnail_key=self.thumbnail_key,
                workspace_name=self.workspace_name,
                mi_conn_id=self.mi_conn_id,
                poke_interval=self.poke_interval,
                waiting_reasons=self.waiting_reasons,
                end_time=end_time,
                max_consecutive_errors=self.max_consecutive_errors,
                consecutive_errors=consecutive_errors,
                exponential_backoff=self.exponential_backoff,
                max_wait=self.max_wait.total_seconds() if self.max_wait else None,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=max(0.0, end_time - time.time())),
        )

    def _keep_waiting_after(self, err: Exception) -> bool:
        """
        Apply ``soft_fail``, ``never_fail`` and ``silent_fail`` to a failed check, as Airflow's
        ``BaseSensorOperator.execute`` does in poke mode: return ``False`` to wait on, or raise.
        """
        if isinstance(err, AirflowSkipException):
            raise err
        if isinstance(err, (AirflowSensorTimeout, AirflowFailException)):
            if self.soft_fail:
                raise AirflowSkipException(f"Skipping due to soft_fail: {err}") from err
            if self.never_fail:
                raise AirflowSkipException(f"Skipping due to never_fail: {err}") from err
            raise err
        if self.silent_fail:
            self.log.error(
                "Checking thumbnail %r failed; waiting on (silent_fail): %s", self.thumbnail_key, err
            )
            return False
        if self.never_fail:
            raise AirflowSkipException(f"Skipping due to never_fail: {err}") from err
        raise err

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Turn the trigger's event into the same outcome as poke mode."""
        if event.get("status") == WaitOutcome.SUCCESS.value:
            self.log.info("Upload completed: %s", event["message"])
            return event["result"]
        try:
            raise _event_error(event)
        except Exception as err:
            self._keep_waiting_after(err)
        self._defer(float(event.get("end_time") or time.time() + self.timeout))


def _event_error(event: dict[str, Any]) -> Exception:
    """Return the exception that poke mode raises for the outcome a trigger's event reports."""
    status, message = event.get("status"), str(event.get("message"))
    if status == WaitOutcome.FAILED.value:
        return AirflowFailException(message)
    if status == WaitOutcome.TIMEOUT.value:
        return AirflowSensorTimeout(message)
    if status == WaitOutcome.ERROR.value:
        payload = event.get("error")
        return error_from_payload(payload) if isinstance(payload, dict) else MediaIntelligenceError(message)
    return MediaIntelligenceError(f"Unexpected event from the trigger: {event!r}")
