"""
One run of a bulk upload: its files' checks, keys and uploads, in threads, with the manifest saved
before any file's bytes are sent.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from airflow_provider_mi import storage
from airflow_provider_mi.core.bulk_upload import BulkPlan
from airflow_provider_mi.core.manifest import SAVE_INTERVAL, FileRecord, ManifestWriter
from airflow_provider_mi.core.models import PresignedUpload, UploadOutcome
from airflow_provider_mi.core.rate_limit import COMPLETE_UPLOAD
from airflow_provider_mi.core.retry import LoggerLike
from airflow_provider_mi.exceptions import MediaIntelligenceAuthenticationError
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook
from airflow_provider_mi.operators.file_uploads import NOT_SENT, FileUpload, attempt, read_file


@dataclass(frozen=True)
class Issued:
    """A file given a key and not sent yet: its bytes wait here until the manifest holds the key."""

    file: str
    path: storage.Location
    data: bytes
    presigned: PresignedUpload
    fingerprint: str
    change: int  # the manifest's change that recorded the key


class BulkRun:
    """
    One run of a bulk upload. The keys an earlier run was given are checked with completion first;
    every other file then gets a key, the key is saved in the manifest, and only then are its bytes
    sent, so that a run killed at any moment never sends a file's bytes twice. Saves are throttled
    (:data:`SAVE_INTERVAL`), so keys are issued ahead of the uploads, by as many as the completion
    limit lets through in two saves: the uploads never wait for a save.

    :param hook: the hook, its session shared by the threads.
    :param workspace: the workspace.
    :param writer: the manifest's writer, or ``None`` when there is no manifest.
    :param max_concurrency: files in flight at once.
    :param progress_interval: seconds between two progress lines.
    :param log: the operator's log.
    """

    def __init__(
        self,
        hook: MediaIntelligenceHook,
        workspace: str,
        writer: ManifestWriter | None,
        max_concurrency: int,
        progress_interval: float,
        log: LoggerLike,
    ) -> None:
        self.hook, self.workspace, self.writer, self.log = hook, workspace, writer, log
        self.max_concurrency, self.progress_interval = max_concurrency, progress_interval
        limit = hook.settings.rate_limits[COMPLETE_UPLOAD]
        ahead = math.ceil(2 * SAVE_INTERVAL * limit.calls / limit.period_seconds) if writer else 0
        #: The most keys issued and not sent yet (each holding its file's bytes).
        self.most_ahead = max_concurrency + ahead
        self.stop = threading.Event()  # set by the first step whose credentials are rejected
        self.paths: dict[str, storage.Location] = {}
        self.results: dict[str, FileUpload] = {}
        self.checks: deque[tuple[str, FileRecord]] = deque()
        self.uploads: deque[str] = deque()
        self.parked: deque[Issued] = deque()  # keys not on disk yet
        self.ready: deque[Issued] = deque()  # keys on disk, bytes not sent
        self.running: dict[Future[Any], tuple[str, str]] = {}  # job -> its kind and file

    def run(
        self, paths: dict[str, storage.Location], plan: BulkPlan, earlier: dict[str, FileUpload]
    ) -> tuple[list[FileUpload], MediaIntelligenceAuthenticationError | None]:
        """Do the plan; return every file's result, in order, and the rejection that stopped the batch."""
        self.paths, self.results = paths, dict(earlier)
        self.checks.extend(plan.check.items())
        self.uploads.extend(plan.upload)
        rejected: MediaIntelligenceAuthenticationError | None = None
        self._last_report = time.monotonic()
        with ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="mi-bulk-upload") as pool:
            try:
                while self._schedule(pool):
                    timeout = self.writer.next_save_in() if self.writer and self.parked else None
                    done, _ = wait(self.running, timeout=timeout, return_when=FIRST_COMPLETED)
                    for job in done:
                        _, file = self.running.pop(job)
                        try:
                            self._took(file, job.result())
                        except MediaIntelligenceAuthenticationError as err:
                            rejected = rejected or err
                            self._finished(
                                file, FileUpload(file, UploadOutcome.FAILED, upload_message=str(err))
                            )
                    if self.writer is not None:
                        self.writer.save()
            except BaseException:  # the task is being stopped
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            finally:
                if self.writer is not None:
                    self.writer.save(force=True)
        unsent = [
            *(file for file, _ in self.checks),
            *self.uploads,
            *(i.file for i in self.parked + self.ready),
        ]
        for file in unsent:  # only after a rejection
            self.results[file] = FileUpload(file, UploadOutcome.FAILED, upload_message=NOT_SENT)
        return [self.results[file] for file in paths], rejected

    def _schedule(self, pool: ThreadPoolExecutor) -> bool:
        """Start what can start; return whether anything is left to wait for."""
        saved = self.writer.saved if self.writer else 0
        while self.parked and self.parked[0].change <= saved:
            self.ready.append(self.parked.popleft())
        while not self.stop.is_set() and len(self.running) < self.max_concurrency:
            issuing = sum(kind == "issue" for kind, _ in self.running.values())
            if self.checks:
                file, record = self.checks.popleft()
                self.running[pool.submit(self._check, file, record)] = ("check", file)
            elif self.uploads and len(self.parked) + len(self.ready) + issuing < self.most_ahead:
                file = self.uploads.popleft()
                self.running[pool.submit(self._issue, self.paths[file])] = ("issue", file)
            elif self.ready:
                issued = self.ready.popleft()
                self.running[pool.submit(self._send, issued)] = ("send", issued.file)
            else:
                break
        if not self.running and self.parked and not self.stop.is_set() and self.writer is not None:
            self.writer.durable(self.parked[-1].change)  # nothing else to do meanwhile: save now
            return self._schedule(pool)
        return bool(self.running)

    def _took(self, file: str, outcome: Issued | FileUpload | None) -> None:
        """Take a job's outcome: a key to send once saved, a file to upload anew, or the file's result."""
        if isinstance(outcome, Issued):
            self.parked.append(outcome)
        elif outcome is None:
            self.uploads.append(file)
        else:
            self._finished(file, outcome)

    def _finished(self, file: str, result: FileUpload) -> None:
        self.results[file] = result
        self._note(file, result)
        if time.monotonic() - self._last_report >= self.progress_interval:
            self._last_report = time.monotonic()
            failed = sum(result.state is UploadOutcome.FAILED for result in self.results.values())
            left = len(self.paths) - len(self.results)
            self.log.info("Progress: %d done (%d failed), %d left", len(self.results), failed, left)

    # --- the jobs, in the pool's threads -----------------------------------------------------------

    def _check(self, file: str, record: FileRecord) -> FileUpload | None:
        """Ask completion about a key an earlier run was given; ``None``: its bytes never landed."""
        if self.stop.is_set():
            return FileUpload(file, UploadOutcome.FAILED, upload_message=NOT_SENT)
        key = record.thumbnail_key
        assert key is not None  # a record to check has its key
        completion = attempt(
            file, lambda: self.hook.complete_person_thumbnail_upload(self.workspace, key), self.stop, self.log
        )
        if isinstance(completion, FileUpload):
            return completion
        if completion.outcome() is UploadOutcome.WAITING and not record.landed:
            return None  # the key was saved before its upload, and the run stopped before that
        return FileUpload.answered(file, completion)

    def _issue(self, path: storage.Location) -> Issued | FileUpload:
        """Read a file, check it, and get it a key, recorded in the manifest."""
        file = storage.display(path)
        if self.stop.is_set():
            return FileUpload(file, UploadOutcome.FAILED, upload_message=NOT_SENT)
        data = read_file(path, file)
        if isinstance(data, FileUpload):
            return data

        def issue() -> Issued:
            self.hook.check_thumbnail(path.name, data)  # no key for a file the API would refuse
            fingerprint = storage.fingerprint(path, data=data) if self.writer else ""
            issued_at = time.time()
            presigned = self.hook.create_presigned_upload(self.workspace, path.name)
            change = self._keep(file, FileRecord(fingerprint, presigned.thumbnail_key, issued_at))
            return Issued(file, path, data, presigned, fingerprint, change)

        return attempt(file, issue, self.stop, self.log)

    def _send(self, issued: Issued) -> FileUpload:
        """Upload a file whose key the manifest holds, and complete it."""
        if self.stop.is_set():
            return FileUpload(issued.file, UploadOutcome.FAILED, upload_message=NOT_SENT)

        def rekeyed(presigned: PresignedUpload) -> None:
            # A new URL (the first did not land): its key goes to disk before its bytes go, too.
            if self.writer is not None:
                record = FileRecord(issued.fingerprint, presigned.thumbnail_key, time.time())
                self.writer.durable(self._keep(issued.file, record))

        completion = attempt(
            issued.file,
            lambda: self.hook.upload_person_thumbnail(
                self.workspace,
                issued.path.name,
                issued.data,
                presigned=issued.presigned,
                on_presigned=rekeyed,
            ),
            self.stop,
            self.log,
        )
        return (
            completion if isinstance(completion, FileUpload) else FileUpload.answered(issued.file, completion)
        )

    # --- the manifest ------------------------------------------------------------------------------

    def _keep(self, file: str, record: FileRecord) -> int:
        """Put a file's record in the manifest; return the change's number (0 without a manifest)."""
        if self.writer is None:
            return 0
        with self.writer.change() as number:
            self.writer.manifest.files[file] = record
        return number

    def _note(self, file: str, result: FileUpload) -> None:
        """Record what completion said of a file's key."""
        if self.writer is None or result.thumbnail_key is None or result.earlier:
            return
        with self.writer.change():
            record = self.writer.manifest.files.get(file)
            if record is None or record.thumbnail_key != result.thumbnail_key:
                return
            record.landed = True  # completion answered for it: storage holds the bytes, or will
            record.completed = result.state is UploadOutcome.COMPLETED
            # Only the API's own verdict on the bytes is final; anything else is tried again next run.
            refused = result.state is UploadOutcome.FAILED and result.upload_status == "FAILED"
            record.refused = (result.upload_message or "FAILED") if refused else None
