"""Operator that uploads many person thumbnails at once, concurrently, within the API's limits; resumable."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, Context, conf

from airflow_provider_mi import lineage, storage
from airflow_provider_mi.core.bulk_upload import BulkPlan, plan_bulk
from airflow_provider_mi.core.local_files import write_json
from airflow_provider_mi.core.manifest import BULK_UPLOAD, Manifest, ManifestWriter, read_manifest
from airflow_provider_mi.core.models import UploadOutcome
from airflow_provider_mi.core.polling import KeysOutcome
from airflow_provider_mi.exceptions import InvalidParameterError
from airflow_provider_mi.operators.base import (
    MediaIntelligenceBaseOperator,
    failing_without_retries_on_bad_input,
)
from airflow_provider_mi.operators.bulk_run import BulkRun
from airflow_provider_mi.operators.file_uploads import (
    FileUpload,
    share_session_between_threads,
    validate_output_path,
    validate_whole_number,
)
from airflow_provider_mi.operators.waiting import DEFAULT_POLL_INTERVAL, DEFAULT_TIMEOUT, CompletionWait

#: How many failed files an error message names before it says "and N more".
NAMED_FAILURES = 20
#: The XCom that keeps, while the task is deferred, the summary and the files of the waiting keys.
WAIT_STATE_XCOM = "wait_state"


class MediaIntelligenceBulkUploadPersonThumbnailsOperator(MediaIntelligenceBaseOperator):
    """
    Upload many local images as person thumbnails, concurrently and within the API's rate limits.

    Each file goes through the whole flow (local check, presigned URL, upload, completion), in
    ``max_concurrency`` threads that share the connection's client-side rate limits, so a batch
    of thousands never draws a 429. Progress is logged as it goes. Whatever goes wrong with one
    file (unreadable, refused, an unexpected error) is that file's failure, never the batch's;
    only rejected credentials stop the batch, and then the task fails at once, without retries,
    reporting what was done.

    The XCom stays small whatever the batch's size: the counts, the keys the API does not see
    yet (``waitingKeys``: wait for them with
    :class:`~airflow_provider_mi.sensors.person_thumbnail.MediaIntelligencePersonThumbnailUploadSensor`)
    and the report's path. The per-file report (``file``, ``state``, ``thumbnailKey``, ``uploadStatus``,
    ``uploadMessage``, ``earlier``) goes to the log and, with ``report_path``, to a JSON file.

    With ``manifest_path`` the batch resumes instead of starting again: which file became which
    key is kept in a manifest (JSON, the person sync's format), each key saved before its file's
    bytes are sent. Files completed before are reported without a request (``earlier``), files
    given a key before have it checked with completion (and are uploaded anew only if their bytes
    never landed), files the API refused are not sent again until they change, and no file's bytes
    are sent twice, even by a run killed halfway.

    When more than ``max_failed_files`` files failed, the task fails at the end, naming them:
    without retries (a retry would upload every file again), or, with a manifest, with its retries
    (a retry sends only what is not done).

    With ``wait_for_completion`` the task then waits until the waiting keys are ``COMPLETED``, in
    the task or, with ``deferrable``, in the triggerer (one trigger for all of them), and returns
    the same compact XCom with the counts updated (``waiting`` 0 and ``waitingKeys`` ``[]`` when all
    completed). A key that failed for good moves to the failed files, under the same
    ``max_failed_files``; keys not completed within ``timeout`` fail the task, naming them, without
    retries. The report (log and file) says the new states. For a few files, dynamic task
    mapping over :class:`MediaIntelligenceUploadPersonThumbnailOperator` is the simpler choice.

    :param sources: a folder (its jpg, jpeg, png and webp files), a glob pattern (``**`` recurses),
        a file, each a local path, an object-storage URL (``s3://bucket/faces/``) or an
        ``ObjectStoragePath``, or a list of those. (templated)
    :param workspace_name: the workspace; defaults to the connection's ``workspace_name`` extra.
        (templated)
    :param mi_conn_id: the Airflow connection id. (templated)
    :param max_concurrency: uploads in flight at once.
    :param max_failed_files: failed files tolerated before the task fails.
    :param progress_interval: seconds between two progress lines in the log.
    :param report_path: a local file to write the JSON report to (its folder must exist), or
        ``None``. (templated)
    :param manifest_path: the manifest's path or URL (a local one's folder must exist, an object
        store's bucket; use one every worker sees), or ``None`` for none. (templated)
    :param storage_conn_id: the connection of object-storage URLs given as text, e.g. an AWS
        connection whose ``endpoint_url`` is NCP Object Storage's. (templated)
    :param wait_for_completion: wait until the API sees every uploaded file ``COMPLETED``.
    :param deferrable: wait in the triggerer instead of the task (default: ``[operators]
        default_deferrable``).
    :param poll_interval: seconds between two rounds of checks of the keys still waiting.
    :param timeout: seconds to wait, from the end of the uploads, before the task fails.
    """

    template_fields: Sequence[str] = (
        "sources",
        "workspace_name",
        "mi_conn_id",
        "report_path",
        "manifest_path",
        "storage_conn_id",
    )
    lineage_writes = (lineage.PERSON_THUMBNAILS,)

    def __init__(
        self,
        *,
        sources: str | Sequence[str],
        max_concurrency: int = 8,
        max_failed_files: int = 0,
        progress_interval: float = 10.0,
        report_path: str | None = None,
        manifest_path: str | None = None,
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
        self.sources = sources
        self.max_concurrency = validate_whole_number("max_concurrency", max_concurrency, minimum=1)
        self.max_failed_files = validate_whole_number("max_failed_files", max_failed_files, minimum=0)
        self.progress_interval = progress_interval
        self.report_path = report_path
        self.manifest_path = manifest_path
        self.storage_conn_id = storage_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        """Upload every file; return the counts and the waiting keys, or fail when too many failed."""
        with failing_without_retries_on_bad_input():
            files = storage.find_images(self.sources, self.storage_conn_id)
            if not files:
                raise InvalidParameterError(
                    f"sources {self.sources!r} matched no file. Give a folder of jpg, png or webp images, "
                    "a glob pattern such as '/data/faces/*.jpg', or a list of file paths."
                )
            report_path = validate_output_path(self.report_path)
            manifest_at = (
                None
                if self.manifest_path is None
                else storage.manifest_location(self.manifest_path, self.storage_conn_id)
            )
            workspace = self.hook.workspace(self.workspace_name)  # validated once, before any request
            manifest = None if manifest_at is None else self._load_manifest(manifest_at, workspace)
        paths = {storage.display(path): path for path in files}
        writer, plan, earlier = None, BulkPlan(upload=list(paths)), {}
        if manifest_at is not None and manifest is not None:
            plan = plan_bulk(manifest, list(paths), time.time(), lambda file: _fingerprint(paths[file]))
            writer = ManifestWriter(manifest, lambda payload: storage.save_json(manifest_at, payload))
            earlier = self._earlier(plan, len(paths))
        self.log.info(
            "Uploading %d files to workspace %s, %d at a time",
            len(plan.upload) + len(plan.check),
            workspace,
            self.max_concurrency,
        )
        share_session_between_threads(self.hook, self.max_concurrency)
        run = BulkRun(self.hook, workspace, writer, self.max_concurrency, self.progress_interval, self.log)
        results, rejected = run.run(paths, plan, earlier)
        self._uploaded_keys = [
            r.thumbnail_key for r in results if r.thumbnail_key and r.state.value != "failed"
        ]
        counts = Counter(result.state.value for result in results)
        summary = (
            f"{counts['completed']} completed, {counts['waiting']} waiting to be seen by the API, "
            f"{counts['failed']} failed"
        )
        self._report(results, workspace, counts, report_path)
        if rejected is not None:
            raise AirflowFailException(
                f"The batch stopped: {rejected} Of {len(results)} files: {summary} (the rest not sent). "
                f"Fix the connection's credentials and run the task again.{self._see(report_path)}"
            ) from rejected
        self.log.info("Done: %s", summary)
        failed = [result for result in results if result.state is UploadOutcome.FAILED]
        if len(failed) > self.max_failed_files:
            named = "; ".join(f"{result.file}: {result.upload_message}" for result in failed[:NAMED_FAILURES])
            more = f"; and {len(failed) - NAMED_FAILURES} more" if len(failed) > NAMED_FAILURES else ""
            raise self._failure(
                f"{len(failed)} of {len(results)} files failed (tolerated: {self.max_failed_files}): "
                f"{named}{more}{self._see(report_path)}"
            )
        xcom: dict[str, Any] = {
            "files": len(results),
            **{state.value: counts[state.value] for state in UploadOutcome},
            "waitingKeys": [r.thumbnail_key for r in results if r.state is UploadOutcome.WAITING],
            "report": None if report_path is None else str(report_path),
        }
        waiting = {
            r.thumbnail_key: r.file for r in results if r.state is UploadOutcome.WAITING and r.thumbnail_key
        }
        wait = self.completion_wait
        if not waiting or not wait.wait_for_completion:
            return xcom
        if wait.deferrable:
            # What the resumed task needs goes to an XCom, not the method's kwargs: `airflow dags
            # test` (2.11 and 3.3) resumes with the event alone. Deferral keeps the try's XComs.
            state = {"summary": xcom, "waitingFiles": waiting, "workspace": workspace}
            context["ti"].xcom_push(key=WAIT_STATE_XCOM, value=state)
            self.defer(
                trigger=wait.trigger(list(waiting), workspace, self.mi_conn_id),
                method_name="execute_complete",
                timeout=self.execution_timeout,
            )
        outcome = wait.in_task(self.hook, workspace, list(waiting), self.log)
        return self._waited(xcom, waiting, workspace, outcome)

    def execute_complete(self, context: Context, event: dict[str, Any]) -> dict[str, Any]:
        """Resume after the trigger: the same summary, or failure, as a wait in the task."""
        ti = context["ti"]
        state = ti.xcom_pull(task_ids=self.task_id, key=WAIT_STATE_XCOM, map_indexes=ti.map_index)
        outcome = KeysOutcome.from_event(event)
        return self._waited(state["summary"], state["waitingFiles"], state["workspace"], outcome)

    def _waited(
        self, summary: dict[str, Any], files: dict[str, str], workspace: str, outcome: KeysOutcome
    ) -> dict[str, Any]:
        """Apply the wait's outcome to the summary and the report; fail as the upload would have."""
        for key in outcome.completed:
            self.log.info("%s: completed as %s", files.get(key, key), key)
        for key, completion in outcome.failed.items():
            self.log.info("%s: failed as %s (%s)", files.get(key, key), key, completion.reason)
        report_path = None if summary.get("report") is None else Path(summary["report"])
        if report_path is not None:
            self._update_report(report_path, outcome)
        if self.manifest_path is not None:
            self._record_wait(workspace, files, outcome)
        failed_before = int(summary["failed"])
        summary = {
            **summary,
            "completed": int(summary["completed"]) + len(outcome.completed),
            "waiting": len(outcome.waiting),
            "failed": failed_before + len(outcome.failed),
            "waitingKeys": list(outcome.waiting),
        }
        problem = self.completion_wait.unfinished(
            outcome, workspace, self.mi_conn_id, resumable=self.manifest_path is not None
        )
        if problem is not None:
            raise self._failure(f"{problem}{self._see(report_path)}") from outcome.error
        if summary["failed"] > self.max_failed_files:
            failed = [
                f"{files.get(key, key)}: {c.reason or c.raw_status}" for key, c in outcome.failed.items()
            ]
            named = "; ".join(failed[:NAMED_FAILURES])
            more = f"; and {len(failed) - NAMED_FAILURES} more" if len(failed) > NAMED_FAILURES else ""
            before = f"; and {failed_before} that failed before the wait" if failed_before else ""
            raise self._failure(
                f"{summary['failed']} of {summary['files']} files failed (tolerated: "
                f"{self.max_failed_files}): {named}{more}{before}.{self._see(report_path)}"
            )
        self.log.info(
            "Done waiting: %d completed, %d failed of %d files",
            summary["completed"],
            summary["failed"],
            summary["files"],
        )
        return summary

    def _failure(self, message: str) -> AirflowException:
        """The task's failure: with its retries when a manifest lets a retry resume, else without."""
        if self.manifest_path is None:
            return AirflowFailException(message)
        return AirflowException(f"{message} The manifest keeps what was done: a retry sends only the rest.")

    def _load_manifest(self, location: storage.Location, workspace: str) -> Manifest:
        where = storage.display(location)
        manifest = read_manifest(
            storage.read_text_if_any(location, "manifest_path"), where, BULK_UPLOAD, workspace
        )
        if manifest is None:
            self.log.info("No manifest at %s yet: every file is new to it", where)
            return Manifest(workspace, kind=BULK_UPLOAD)
        return manifest

    def _earlier(self, plan: BulkPlan, total: int) -> dict[str, FileUpload]:
        """Log what the manifest says is done; return those files' results."""
        earlier = {
            file: FileUpload(file, UploadOutcome.COMPLETED, record.thumbnail_key, "COMPLETED", earlier=True)
            for file, record in plan.done.items()
        }
        for file, record in plan.refused.items():
            message = f"refused earlier: {record.refused}"
            earlier[file] = FileUpload(
                file, UploadOutcome.FAILED, record.thumbnail_key, "FAILED", message, True
            )
        if earlier or plan.check:
            self.log.info(
                "Resuming: %d of %d files already done (%d completed, %d refused for good), %d to check "
                "with the keys they were given, %d to upload",
                len(earlier),
                total,
                len(plan.done),
                len(plan.refused),
                len(plan.check),
                len(plan.upload),
            )
        if plan.expired:
            self.log.info(
                "%d files completed more than 23 hours ago: their keys have expired, uploading them again",
                plan.expired,
            )
        return earlier

    def _record_wait(self, workspace: str, files: dict[str, str], outcome: KeysOutcome) -> None:
        """Keep in the manifest what the wait learnt, so that the next run asks nothing of these keys."""
        ended = {**outcome.completed, **outcome.failed}
        if not ended:
            return
        try:
            location = storage.manifest_location(self.manifest_path, self.storage_conn_id)
            where = storage.display(location)
            manifest = read_manifest(
                storage.read_text_if_any(location, "manifest_path"), where, BULK_UPLOAD, workspace
            )
            if manifest is None:
                raise InvalidParameterError(f"{where} is gone")
            for key, completion in ended.items():
                record = manifest.files.get(files.get(key, ""))
                if record is not None and record.thumbnail_key == key:
                    record.completed = completion.outcome() is UploadOutcome.COMPLETED
                    refused = completion.outcome() is UploadOutcome.FAILED
                    record.refused = (completion.reason or completion.raw_status) if refused else None
            storage.save_json(location, manifest.to_dict())
        except Exception as err:  # the manifest is a saving: the next run checks these keys again
            self.log.warning(
                "Cannot write the outcome of the wait to the manifest (%s); the next run checks those keys "
                "again.",
                err,
            )

    def _update_report(self, report_path: Path, outcome: KeysOutcome) -> None:
        """Write the new states of the keys waited for into the report written before the wait."""
        try:
            report = json.loads(report_path.read_text())
        except (OSError, ValueError) as err:
            self.log.warning(
                "Cannot update the report %s with the outcome of the wait (%s); it holds the states before "
                "the wait, the log the outcome.",
                report_path,
                err,
            )
            return
        ended = {**outcome.completed, **outcome.failed}
        for entry in report.get("files", []):
            completion = ended.get(entry.get("thumbnailKey"))
            if completion is not None and entry.get("state") == UploadOutcome.WAITING.value:
                entry.update(
                    state=completion.outcome().value,
                    uploadStatus=completion.raw_status,
                    uploadMessage=completion.reason,
                )
        report["counts"] = dict(Counter(entry.get("state") for entry in report.get("files", [])))
        write_json(report_path, report)

    def lineage_sources(self) -> list[str]:
        """The folders, patterns and files of ``sources``."""
        return lineage.local_sources(self.sources)

    def asset_event_extra(self, result: dict[str, Any]) -> dict[str, Any]:
        """The counts, and the keys of the uploads (completed or waiting), at most 100 of them."""
        counts = {field: result[field] for field in ("files", "completed", "waiting", "failed")}
        return {**counts, **lineage.bounded(getattr(self, "_uploaded_keys", []), "thumbnailKeys")}

    @staticmethod
    def _see(report_path: Path | None) -> str:
        return f" The report of every file: {report_path}." if report_path else " The log lists every file."

    def _report(
        self, results: list[FileUpload], workspace: str, counts: Counter[str], report_path: Path | None
    ) -> None:
        """Log one line per file and, if asked, write the JSON report."""
        for result in results:
            self.log.info(
                "%s: %s%s%s%s",
                result.file,
                result.state.value,
                f" as {result.thumbnail_key}" if result.thumbnail_key else "",
                f" ({result.upload_message})" if result.upload_message else "",
                " in an earlier run" if result.earlier else "",
            )
        if report_path is not None:
            entries = [result.to_dict() for result in results]
            write_json(report_path, {"workspace": workspace, "counts": dict(counts), "files": entries})
            self.log.info("Wrote the report of %d files to %s", len(results), report_path)


def _fingerprint(path: storage.Location) -> str:
    """A file's fingerprint now; one that cannot be read counts as changed (its upload says why)."""
    try:
        return storage.fingerprint(path)
    except Exception:
        return ""
