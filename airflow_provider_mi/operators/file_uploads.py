"""
One file's upload, as the bulk upload and the person sync run it in their threads: what became of
it, and the steps that never let one file's trouble stop the others.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from airflow_provider_mi import storage
from airflow_provider_mi.core.models import UploadCompletion, UploadOutcome
from airflow_provider_mi.core.retry import LoggerLike
from airflow_provider_mi.exceptions import (
    InvalidParameterError,
    MediaIntelligenceAuthenticationError,
    MediaIntelligenceError,
)
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook

#: What a file not sent because the credentials were rejected is reported with.
NOT_SENT = "not sent: credentials rejected"

T = TypeVar("T")


@dataclass(frozen=True)
class FileUpload:
    """
    What became of one file.

    :param file: the file's path.
    :param state: ``completed``, ``waiting`` (uploaded, not visible to the API yet) or ``failed``.
    :param thumbnail_key: the key the API gave the upload, if it got that far.
    :param upload_status: the API's ``uploadStatus``, if completion answered.
    :param upload_message: the API's ``uploadMessage``, or why the file failed before completion.
    :param earlier: whether it is what an earlier run did, read from the manifest (nothing sent now).
    """

    file: str
    state: UploadOutcome
    thumbnail_key: str | None = None
    upload_status: str | None = None
    upload_message: str | None = None
    earlier: bool = False

    @classmethod
    def answered(cls, file: str, completion: UploadCompletion) -> FileUpload:
        """What completion's answer for the file's key says."""
        return cls(
            file, completion.outcome(), completion.thumbnail_key, completion.raw_status, completion.reason
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the file's entry of the report, as plain values."""
        return {
            "file": self.file,
            "state": self.state.value,
            "thumbnailKey": self.thumbnail_key,
            "uploadStatus": self.upload_status,
            "uploadMessage": self.upload_message,
            "earlier": self.earlier,
        }


def validate_output_path(value: Any, field: str = "report_path") -> Path | None:
    """
    Return where a JSON file the operator writes goes, or ``None``; its folder must exist and be writable.

    :param value: a local file path, or ``None`` for no file.
    :param field: the parameter's name, for the error.
    """
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise InvalidParameterError(
            f"{field} is {value!r}; give a file path such as '/data/reports/upload.json', or None."
        )
    path = Path(value).expanduser()
    if path.is_dir():
        raise InvalidParameterError(
            f"{field} {str(path)!r} is a folder; name a file in it, e.g. report.json."
        )
    if not path.parent.is_dir() or not os.access(path.parent, os.W_OK):
        raise InvalidParameterError(
            f"{field} {str(path)!r} cannot be written: its folder does not exist or is not writable "
            "on the worker. Create the folder, or choose another path."
        )
    return path


def validate_whole_number(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidParameterError(f"{name} is {value!r}; it must be a whole number of {minimum} or more.")
    return value


def share_session_between_threads(hook: MediaIntelligenceHook, pool_size: int) -> None:
    """Open the hook's session now, with a connection pool as large as the thread pool using it."""
    from requests.adapters import HTTPAdapter

    for prefix in ("https://", "http://"):
        hook.session.mount(prefix, HTTPAdapter(pool_maxsize=pool_size))


def attempt(file: str, step: Callable[[], T], stop: threading.Event, log: LoggerLike) -> T | FileUpload:
    """
    Run one step of a file's upload. Whatever goes wrong is the file's failure, except rejected
    credentials: they set ``stop`` (the files after it are not sent) and are raised.
    """
    try:
        return step()
    except MediaIntelligenceAuthenticationError:
        stop.set()
        raise
    except MediaIntelligenceError as err:
        return FileUpload(file, UploadOutcome.FAILED, upload_message=str(err))
    except Exception as err:  # one file's surprise (e.g. an image parser's bug) is that file's failure
        log.warning("Unexpected error uploading %s", file, exc_info=True)
        return FileUpload(
            file, UploadOutcome.FAILED, upload_message=f"unexpected error: {type(err).__name__}: {err}"
        )


def read_file(path: storage.Location, file: str) -> bytes | FileUpload:
    """Read a file once, whole; a file that cannot be read is that file's failure."""
    try:
        return storage.read_bytes(path)
    except Exception as err:  # whatever the filesystem raises: missing, denied, unreachable
        return FileUpload(
            file, UploadOutcome.FAILED, upload_message=f"cannot be read: {storage.problem(err)}"
        )


def upload_file(
    hook: MediaIntelligenceHook, path: storage.Location, workspace: str, stop: threading.Event
) -> FileUpload:
    """Upload one file (read once, whole) and say what became of it, as :func:`attempt` says."""
    file = storage.display(path)
    if stop.is_set():
        return FileUpload(file, UploadOutcome.FAILED, upload_message=NOT_SENT)
    data = read_file(path, file)
    if isinstance(data, FileUpload):
        return data
    completion = attempt(
        file, lambda: hook.upload_person_thumbnail(workspace, path.name, data), stop, hook.log
    )
    return completion if isinstance(completion, FileUpload) else FileUpload.answered(file, completion)
