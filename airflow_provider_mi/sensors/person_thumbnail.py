"""Sensor that waits until a person thumbnail upload is terminal."""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from datetime import timedelta
from functools import cached_property
from typing import Any

from airflow.providers.common.compat.sdk import (
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
    BaseSensorOperator,
    Context,
    PokeReturnValue,
    conf,
)

from airflow_provider_mi.core.models import DEFAULT_WAITING_REASONS, UploadFailureReason, UploadState
from airflow_provider_mi.core.validation import validate_poke_interval
from airflow_provider_mi.exceptions import InvalidParameterError, MediaIntelligenceError
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook
from airflow_provider_mi.triggers.person_thumbnail import (
    ERROR,
    FAILED,
    SUCCESS,
    TIMEOUT,
    PersonThumbnailUploadTrigger,
    describe_wait,
)


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


class PersonThumbnailUploadSensor(BaseSensorOperator):
    """
    Wait until a person thumbnail upload is ``COMPLETED``; fail at once if it failed for good.

    ``FAILED`` with a reason in ``waiting_reasons`` (by default ``FILE_NOT_EXIST``: the upload is
    not visible yet) and unknown statuses keep the sensor waiting, as do transient HTTP errors.
    Any other failure reason fails the task at once, without retries (``soft_fail`` turns it into a
    skip). Returns the API's result, ``{"uploadStatus": ..., "uploadMessage": ...}``, as XCom.

    :param thumbnail_key: the key to wait for. (templated)
    :param workspace_name: the workspace; defaults to the connection's ``workspace_name`` extra.
        (templated)
    :param mi_conn_id: the Airflow connection id. (templated)
    :param waiting_reasons: failure reasons that mean "not yet" rather than "never".
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
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        validate_poke_interval(self.poke_interval)
        self.thumbnail_key = thumbnail_key
        self.workspace_name = workspace_name
        self.mi_conn_id = mi_conn_id
        self.waiting_reasons = _validate_waiting_reasons(waiting_reasons)
        self.deferrable = deferrable
        self._last_status = "not checked yet in this try"

    @cached_property
    def hook(self) -> MediaIntelligenceHook:
        """The hook, created on first use (never at DAG parse time)."""
        return MediaIntelligenceHook(mi_conn_id=self.mi_conn_id)

    def poke(self, context: Context) -> PokeReturnValue | bool:
        """Check the upload once: done, still waiting, or failed for good."""
        try:
            completion = self.hook.complete_person_thumbnail_upload(self.workspace_name, self.thumbnail_key)
        except MediaIntelligenceError as err:
            if not err.retryable:
                raise
            self._last_status = f"transient error ({err})"
            self.log.warning("Checking thumbnail %r failed, will check again: %s", self.thumbnail_key, err)
            return False
        self._last_status = completion.describe()
        state = completion.state(self.waiting_reasons)
        if state is UploadState.COMPLETED:
            return PokeReturnValue(is_done=True, xcom_value=completion.to_api_dict())
        if state is UploadState.FAILED:
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
        except AirflowFailException as err:
            if self.soft_fail:  # as BaseSensorOperator.execute does in poke mode
                raise AirflowSkipException(f"Skipping due to soft_fail: {err}") from err
            raise
        if isinstance(poked, PokeReturnValue):
            return poked.xcom_value
        self.defer(
            trigger=PersonThumbnailUploadTrigger(
                thumbnail_key=self.thumbnail_key,
                workspace_name=self.workspace_name,
                mi_conn_id=self.mi_conn_id,
                poke_interval=self.poke_interval,
                waiting_reasons=self.waiting_reasons,
                end_time=time.time() + self.timeout,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Turn the trigger's event into the same outcome as poke mode."""
        status = event.get("status")
        if status == SUCCESS:
            self.log.info("Upload completed: %s", event["message"])
            return event["result"]
        if status == FAILED:
            raise AirflowFailException(event["message"])
        if status == TIMEOUT:
            raise AirflowSensorTimeout(event["message"])
        if status == ERROR:
            raise MediaIntelligenceError(event["message"])
        raise MediaIntelligenceError(f"Unexpected event from the trigger: {event!r}")
