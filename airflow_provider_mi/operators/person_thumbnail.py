"""Operators for person thumbnail uploads: completion alone, or the whole upload flow."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException, Context

from airflow_provider_mi import lineage
from airflow_provider_mi.core.models import UploadCompletion, UploadOutcome
from airflow_provider_mi.exceptions import InvalidParameterError, PersonThumbnailNotReadyError
from airflow_provider_mi.operators.base import (
    MediaIntelligenceBaseOperator,
    failing_without_retries_on_bad_input,
)


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
    status; wait for it with
    :class:`~airflow_provider_mi.sensors.person_thumbnail.MediaIntelligencePersonThumbnailUploadSensor`.

    Within one try, an upload whose answer was lost is confirmed through completion before the
    image is sent again, with a new URL (at most three URLs). A task *retry* runs the whole flow
    again: if the failed try's image had landed (e.g. completion failed past the hook's retries,
    or the worker was killed after the upload), the workspace then holds a second copy under
    another key. Nothing else is created; an unused thumbnail key expires 24 hours after upload.

    :param file_path: path of the image on the worker. (templated)
    :param data: the image's bytes, instead of ``file_path``.
    :param file_name: the file name announced to the API; defaults to the file's name. (templated)
    :param workspace_name: the workspace; defaults to the connection's ``workspace_name`` extra.
        (templated)
    :param mi_conn_id: the Airflow connection id. (templated)
    """

    template_fields: Sequence[str] = ("file_path", "file_name", "workspace_name", "mi_conn_id")
    lineage_writes = (lineage.PERSON_THUMBNAILS,)

    def __init__(
        self,
        *,
        file_path: str | None = None,
        data: bytes | None = None,
        file_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (file_path is None) == (data is None):
            raise InvalidParameterError("Pass exactly one of file_path (a local image) and data (its bytes).")
        if data is not None and not file_name:
            raise InvalidParameterError("file_name is required with data, e.g. file_name='face.jpg'.")
        self.file_path = file_path
        self.data = data
        self.file_name = file_name

    def _read(self) -> tuple[str, bytes]:
        if self.data is not None:
            return str(self.file_name), self.data
        path = Path(str(self.file_path))
        try:
            content = path.read_bytes()
        except OSError as err:
            raise InvalidParameterError(
                f"file_path {str(path)!r} cannot be read: {err.strerror or err}. Check that the file "
                "exists on the worker and is readable."
            ) from None
        return self.file_name or path.name, content

    def execute(self, context: Context) -> dict[str, Any]:
        """Upload the file and return its key with the API's completion result."""
        with failing_without_retries_on_bad_input():
            file_name, content = self._read()
            self.log.info("Uploading %s (%d bytes)", file_name, len(content))
            completion = self.hook.upload_person_thumbnail(self.workspace_name, file_name, content)
        self.log.info("Upload completion of %s", completion.describe())
        if completion.outcome() is UploadOutcome.WAITING:
            self.log.info("The API does not see %s yet; wait for it with a sensor.", completion.describe())
            return {"thumbnailKey": completion.thumbnail_key, **completion.to_api_dict()}
        return {"thumbnailKey": completion.thumbnail_key, **_outcome(completion)}

    def lineage_sources(self) -> list[str]:
        """The image's path (none for ``data``)."""
        return lineage.local_sources(self.file_path)

    def asset_event_extra(self, result: dict[str, Any]) -> dict[str, Any]:
        """The new thumbnail's key and status."""
        return {"thumbnailKeys": [result["thumbnailKey"]], "uploadStatus": result["uploadStatus"]}
