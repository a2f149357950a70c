"""Operators for person thumbnail uploads: completion alone, or the whole upload flow."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException, Context, conf

from airflow_provider_mi import lineage, storage
from airflow_provider_mi.core.models import UploadCompletion, UploadOutcome
from airflow_provider_mi.core.polling import KeysOutcome
from airflow_provider_mi.exceptions import InvalidParameterError, PersonThumbnailNotReadyError
from airflow_provider_mi.operators.base import (
    MediaIntelligenceBaseOperator,
    failing_without_retries_on_bad_input,
)
from airflow_provider_mi.operators.waiting import DEFAULT_POLL_INTERVAL, DEFAULT_TIMEOUT, CompletionWait


def _outcome(completion: UploadCompletion) -> dict[str, Any]:
    """Return the API's result for a completed upload, or raise for a waiting or failed one."""
    state = completion.outcome()
    if state is UploadOutcome.FAILED:
        raise AirflowFailException(completion.failure_message())
    if state is UploadOutcome.WAITING:
        raise PersonThumbnailNotReadyError(
            f"Upload of {completion.describe()} is not complete yet. Give the task retries (with "
            "retry_delay) to wait for a late upload, or use MediaIntelligencePersonThumbnailUploadSensor."
        )
    return completion.to_api_dict()


class MediaIntelligenceCompletePersonThumbnailUploadOperator(MediaIntelligenceBaseOperator):
    """
    Confirm one person thumbnail upload and return the API's result.

    Returns ``{"uploadStatus": "COMPLETED", "uploadMessage": None}`` as XCom. A permanent failure
    (``OVER_SIZE_LIMIT``, ``RESOLUTION_NOT_SUPPORT`` or an unknown reason) fails the task without
    retries; ``FILE_NOT_EXIST`` raises a retryable error, so the task's ``retries`` can wait for
    a late upload. Transient HTTP errors are retried inside the hook. A bad value (workspace, key,
    connection field) fails the task before any request, without retries.

    :param thumbnail_key: the key returned when the presigned URL was issued. (templated)
    :param workspace_name: the workspace; defaults to the connection's ``workspace_name`` extra.
        (templated)
    :param mi_conn_id: the Airflow connection id. (templated)
    """

    template_fields: Sequence[str] = ("thumbnail_key", "workspace_name", "mi_conn_id")
    lineage_writes = (lineage.PERSON_THUMBNAILS,)

    def __init__(self, *, thumbnail_key: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.thumbnail_key = thumbnail_key

    def execute(self, context: Context) -> dict[str, Any]:
        """Confirm the upload; return the API's result or raise for a waiting or failed upload."""
        with failing_without_retries_on_bad_input():
            completion = self.hook.complete_person_thumbnail_upload(self.workspace_name, self.thumbnail_key)
        self.log.info("Upload completion of %s", completion.describe())
        return _outcome(completion)

    def asset_event_extra(self, result: dict[str, Any]) -> dict[str, Any]:
        """The thumbnail's key and status."""
        return {"thumbnailKeys": [self.thumbnail_key], "uploadStatus": result["uploadStatus"]}


class MediaIntelligenceUploadPersonThumbnailOperator(MediaIntelligenceBaseOperator):
    """
    Upload a person thumbnail: check it locally, issue a presigned URL, PUT the bytes, complete.

    Returns ``{"thumbnailKey": ..., "uploadStatus": ..., "uploadMessage": ...}`` as XCom. The image
    is checked first (jpg, png or webp by content, at most 5 MB, at least 256 px), so a file the API
    would refuse fails with a clear message before anything is sent, without retries, as does any
    other bad value. A permanent failure fails the task without retries. If the API does not see
    an upload that storage acknowledged yet (``FILE_NOT_EXIST``), the task succeeds with that
    status, unless ``wait_for_completion``: then it waits until ``COMPLETED`` (in the task, or with
    ``deferrable`` in the triggerer) and returns that; an upload that fails for good, or is not
    completed within ``timeout``, fails the task without retries (a retry would upload again).

    Within one try, an upload whose answer was lost is confirmed through completion before the
    image is sent again, with a new URL (at most three URLs). A task *retry* runs the whole flow
    again: if the failed try's image had landed (e.g. completion failed past the hook's retries,
    or the worker was killed after the upload), the workspace then holds a second copy under
    another key. Nothing else is created; an unused thumbnail key expires 24 hours after upload.

    :param file_path: the image: a path on the worker, an object-storage URL (``s3://bucket/a.jpg``)
        or an ``ObjectStoragePath``; read once, and checked before any request. (templated)
    :param data: the image's bytes, instead of ``file_path``.
    :param file_name: the file name announced to the API; defaults to the file's name. (templated)
    :param workspace_name: the workspace; defaults to the connection's ``workspace_name`` extra.
        (templated)
    :param mi_conn_id: the Airflow connection id. (templated)
    :param storage_conn_id: the connection of an object-storage URL given as text, e.g. an AWS
        connection whose ``endpoint_url`` is NCP Object Storage's. (templated)
    :param wait_for_completion: wait until the API sees the upload ``COMPLETED``.
    :param deferrable: wait in the triggerer instead of the task (default: ``[operators]
        default_deferrable``).
    :param poll_interval: seconds between two checks while waiting.
    :param timeout: seconds to wait, from the end of the upload, before the task fails.
    """

    template_fields: Sequence[str] = (
        "file_path",
        "file_name",
        "workspace_name",
        "mi_conn_id",
        "storage_conn_id",
    )
    lineage_writes = (lineage.PERSON_THUMBNAILS,)

    def __init__(
        self,
        *,
        file_path: str | None = None,
        data: bytes | None = None,
        file_name: str | None = None,
        storage_conn_id: str | None = None,
        wait_for_completion: bool = False,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        timeout: float = DEFAULT_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.completion_wait = CompletionWait.checked(wait_for_completion, deferrable, poll_interval, timeout)
        self.wait_for_completion, self.deferrable = wait_for_completion, deferrable
        self.poll_interval, self.timeout = poll_interval, timeout
        if (file_path is None) == (data is None):
            raise InvalidParameterError(
                "Pass exactly one of file_path (an image's path or URL) and data (its bytes)."
            )
        if data is not None and not file_name:
            raise InvalidParameterError("file_name is required with data, e.g. file_name='face.jpg'.")
        self.file_path = file_path
        self.data = data
        self.file_name = file_name
        self.storage_conn_id = storage_conn_id

    def _read(self) -> tuple[str, bytes]:
        if self.data is not None:
            return str(self.file_name), self.data
        location = storage.resolve(self.file_path, "file_path", self.storage_conn_id)
        try:
            content = storage.read_bytes(location)
        except Exception as err:  # whatever the filesystem raises: missing, denied, unreachable
            raise storage.storage_error(location, "read", err, "file_path") from None
        return self.file_name or location.name, content

    def execute(self, context: Context) -> dict[str, Any]:
        """Upload the file and return its key with the API's completion result."""
        with failing_without_retries_on_bad_input():
            file_name, content = self._read()
            self.log.info("Uploading %s (%d bytes)", file_name, len(content))
            completion = self.hook.upload_person_thumbnail(self.workspace_name, file_name, content)
        self.log.info("Upload completion of %s", completion.describe())
        if completion.outcome() is UploadOutcome.WAITING:
            wait, key = self.completion_wait, completion.thumbnail_key
            if wait.wait_for_completion and wait.deferrable:
                self.defer(
                    trigger=wait.trigger([key], self.workspace_name, self.mi_conn_id),
                    method_name="execute_complete",
                    timeout=self.execution_timeout,
                )
            if wait.wait_for_completion:
                return self._waited(wait.in_task(self.hook, self.workspace_name, [key], self.log))
            self.log.info("The API does not see %s yet; wait for it with a sensor.", completion.describe())
            return {"thumbnailKey": key, **completion.to_api_dict()}
        return {"thumbnailKey": completion.thumbnail_key, **_outcome(completion)}

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the trigger: the same result, or failure, as a wait in the task."""
        return self._waited(KeysOutcome.from_event(event))

    def _waited(self, outcome: KeysOutcome) -> dict[str, Any]:
        problem = self.completion_wait.unfinished(outcome, self.workspace_name, self.mi_conn_id)
        if problem is not None:
            raise AirflowFailException(problem) from outcome.error
        [(key, completion)] = {**outcome.completed, **outcome.failed}.items()
        self.log.info("Upload completion of %s", completion.describe())
        return {"thumbnailKey": key, **_outcome(completion)}

    def lineage_sources(self) -> list[str]:
        """The image's path (none for ``data``)."""
        return lineage.local_sources(self.file_path)

    def asset_event_extra(self, result: dict[str, Any]) -> dict[str, Any]:
        """The new thumbnail's key and status."""
        return {"thumbnailKeys": [result["thumbnailKey"]], "uploadStatus": result["uploadStatus"]}
