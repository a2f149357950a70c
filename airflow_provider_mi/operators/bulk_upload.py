"""Operator that uploads many person thumbnails at once, concurrently, within the API's limits."""

from __future__ import annotations

import glob
import threading
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import AirflowFailException, Context

from airflow_provider_mi.core.models import UploadState
from airflow_provider_mi.exceptions import (
    InvalidParameterError,
    MediaIntelligenceAuthenticationError,
    MediaIntelligenceError,
)
from airflow_provider_mi.operators.person_thumbnail import (
    _MediaIntelligenceOperator,
    failing_without_retries_on_bad_input,
)

#: File name suffixes taken from a folder (case-insensitive); globs and lists are taken as given.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})
#: How many failed files an error message names before it says "and N more".
NAMED_FAILURES = 20


@dataclass(frozen=True)
class FileUpload:
    """
    What became of one file.

    :param file: the file's path.
    :param state: ``completed``, ``waiting`` (uploaded, not visible to the API yet) or ``failed``.
    :param thumbnail_key: the key the API gave the upload, if it got that far.
    :param upload_status: the API's ``uploadStatus``, if completion answered.
    :param upload_message: the API's ``uploadMessage``, or why the file failed before completion.
    """

    file: str
    state: UploadState
    thumbnail_key: str | None = None
    upload_status: str | None = None
    upload_message: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the plain dict pushed to XCom."""
        return {
            "file": self.file,
            "state": self.state.value,
            "thumbnailKey": self.thumbnail_key,
            "uploadStatus": self.upload_status,
            "uploadMessage": self.upload_message,
        }


def find_images(sources: str | Iterable[str]) -> list[Path]:
    """
    Return the files named by ``sources``, sorted and without duplicates.

    :param sources: a folder (its images: jpg, jpeg, png, webp, not recursive), a glob pattern
        (``**`` recurses), a file path, or a list of those.
    """
    listed = [sources] if isinstance(sources, str) else sources
    if not isinstance(listed, (list, tuple)) or not all(isinstance(source, str) for source in listed):
        raise InvalidParameterError(
            f"sources is {sources!r}; give a folder, a glob pattern or a file path (a string), or a list "
            "of those."
        )
    if any(not source.strip() for source in listed):
        # Path("") is the current directory: a template that rendered to nothing must not upload it.
        raise InvalidParameterError(
            f"sources {sources!r} has an empty entry; name a folder, pattern or file."
        )
    found: set[Path] = set()
    for source in listed:
        path = Path(source).expanduser()
        if path.is_dir():
            matches = [child for child in path.iterdir() if child.suffix.lower() in IMAGE_SUFFIXES]
        elif glob.has_magic(str(path)):
            matches = [Path(match) for match in glob.glob(str(path), recursive=True)]
        else:
            matches = [path]
        found.update(match for match in matches if not match.is_dir())
    return sorted(found)


def _whole_number(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidParameterError(f"{name} is {value!r}; it must be a whole number of {minimum} or more.")
    return value


class BulkUploadPersonThumbnailsOperator(_MediaIntelligenceOperator):
    """
    Upload many local images as person thumbnails, concurrently and within the API's rate limits.

    Each file goes through the whole flow (local check, presigned URL, upload, completion), in
    ``max_concurrency`` threads that share the connection's client-side rate limits, so a batch
    of thousands never draws a 429. Progress is logged as it goes. Returns one dict per file
    (``file``, ``state``, ``thumbnailKey``, ``uploadStatus``, ``uploadMessage``); ``state`` is
    ``waiting`` for uploads the API does not see yet (wait for those keys with
    :class:`~airflow_provider_mi.sensors.person_thumbnail.PersonThumbnailUploadSensor`).

    When more than ``max_failed_files`` files failed for good, the task fails at the end, naming
    them, without retries (a retry would upload every file again). For a few files, dynamic task
    mapping over :class:`UploadPersonThumbnailOperator` is the simpler choice.

    :param sources: a folder (its jpg, jpeg, png and webp files), a glob pattern (``**`` recurses),
        a file path, or a list of those. (templated)
    :param workspace_name: the workspace; defaults to the connection's ``workspace_name`` extra.
        (templated)
    :param mi_conn_id: the Airflow connection id. (templated)
    :param max_concurrency: uploads in flight at once.
    :param max_failed_files: failed files tolerated before the task fails.
    :param progress_interval: seconds between two progress lines in the log.
    """

    template_fields: Sequence[str] = ("sources", "workspace_name", "mi_conn_id")

    def __init__(
        self,
        *,
        sources: str | Sequence[str],
        max_concurrency: int = 8,
        max_failed_files: int = 0,
        progress_interval: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sources = sources
        self.max_concurrency = _whole_number("max_concurrency", max_concurrency, minimum=1)
        self.max_failed_files = _whole_number("max_failed_files", max_failed_files, minimum=0)
        self.progress_interval = progress_interval

    def execute(self, context: Context) -> list[dict[str, Any]]:
        """Upload every file; return the per-file results, or fail when too many failed."""
        with failing_without_retries_on_bad_input():
            files = find_images(self.sources)
            if not files:
                raise InvalidParameterError(
                    f"sources {self.sources!r} matched no file. Give a folder of jpg, png or webp images, "
                    "a glob pattern such as '/data/faces/*.jpg', or a list of file paths."
                )
            workspace = self.hook.workspace(self.workspace_name)  # validated once, before any request
        self.log.info(
            "Uploading %d files to workspace %s, %d at a time", len(files), workspace, self.max_concurrency
        )
        results = self._upload_all(files, workspace)
        counts = Counter(result.state for result in results)
        self.log.info(
            "Done: %d completed, %d waiting to be seen by the API, %d failed",
            counts[UploadState.COMPLETED],
            counts[UploadState.WAITING],
            counts[UploadState.FAILED],
        )
        failed = [result for result in results if result.state is UploadState.FAILED]
        if len(failed) > self.max_failed_files:
            named = "; ".join(f"{result.file}: {result.upload_message}" for result in failed[:NAMED_FAILURES])
            more = f"; and {len(failed) - NAMED_FAILURES} more" if len(failed) > NAMED_FAILURES else ""
            raise AirflowFailException(
                f"{len(failed)} of {len(results)} files failed (tolerated: {self.max_failed_files}): "
                f"{named}{more}"
            )
        return [result.to_dict() for result in results]

    def _upload_all(self, files: list[Path], workspace: str) -> list[FileUpload]:
        self._share_session_between_threads()
        stop = threading.Event()  # set by the first upload whose credentials are rejected
        results: dict[Path, FileUpload] = {}
        last_report = time.monotonic()
        with ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="mi-bulk-upload") as pool:
            futures = {pool.submit(self._upload_one, path, workspace, stop): path for path in files}
            try:
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
                    if time.monotonic() - last_report >= self.progress_interval:
                        last_report = time.monotonic()
                        self._log_progress(results, len(files))
            except BaseException:  # rejected credentials, or the task is being stopped
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        return [results[path] for path in files]

    def _log_progress(self, results: dict[Path, FileUpload], total: int) -> None:
        failed = sum(result.state is UploadState.FAILED for result in results.values())
        self.log.info("Progress: %d done (%d failed), %d left", len(results), failed, total - len(results))

    def _share_session_between_threads(self) -> None:
        """Open the hook's session now, with a connection pool as large as the thread pool."""
        from requests.adapters import HTTPAdapter

        session = self.hook.session
        for prefix in ("https://", "http://"):
            session.mount(prefix, HTTPAdapter(pool_maxsize=self.max_concurrency))

    def _upload_one(self, path: Path, workspace: str, stop: threading.Event) -> FileUpload:
        """Upload one file and say what became of it; only rejected credentials stop the batch."""
        if stop.is_set():
            return FileUpload(str(path), UploadState.FAILED, upload_message="not sent: credentials rejected")
        try:
            completion = self.hook.upload_person_thumbnail(workspace, path.name, path.read_bytes())
        except OSError as err:
            return FileUpload(str(path), UploadState.FAILED, upload_message=f"cannot be read: {err.strerror}")
        except MediaIntelligenceAuthenticationError:
            stop.set()
            raise
        except MediaIntelligenceError as err:
            return FileUpload(str(path), UploadState.FAILED, upload_message=str(err))
        return FileUpload(
            str(path),
            completion.state(),
            completion.thumbnail_key,
            completion.raw_status,
            completion.reason,
        )
