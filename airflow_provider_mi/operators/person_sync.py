"""Operator that keeps a workspace's persons in line with a folder of faces, one sub-folder per person."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from airflow.providers.common.compat.sdk import AirflowException, AirflowFailException, Context

from airflow_provider_mi import lineage, storage
from airflow_provider_mi.core import person_rules as rules
from airflow_provider_mi.core.local_files import write_json
from airflow_provider_mi.core.manifest import PERSON_SYNC, FileRecord, Manifest, ManifestWriter, read_manifest
from airflow_provider_mi.core.models import UploadOutcome
from airflow_provider_mi.core.person_sync import PersonPlan, Photo, check_persons, is_photo, plan_sync
from airflow_provider_mi.core.validation import validate_choice
from airflow_provider_mi.exceptions import (
    InvalidParameterError,
    MediaIntelligenceApiError,
    MediaIntelligenceAuthenticationError,
    MediaIntelligenceError,
)
from airflow_provider_mi.operators.base import (
    MediaIntelligenceBaseOperator,
    failing_without_retries_on_bad_input,
)
from airflow_provider_mi.operators.file_uploads import (
    FileUpload,
    share_session_between_threads,
    upload_file,
    validate_output_path,
    validate_whole_number,
)
from airflow_provider_mi.operators.persons import ON_MATCH, best_face_match
from airflow_provider_mi.operators.waiting import CompletionWait

#: What to do when there is no manifest at ``manifest_path``.
ON_MISSING_MANIFEST = ("start", "fail")


@dataclass
class PersonOutcome:
    """
    What the sync did for one person.

    :param name: the person's name in the source.
    :param action: ``created``, ``attached``, ``unchanged`` or ``failed``.
    :param person_id: the person's id, if it has one.
    :param added: photos added to the person in this run.
    :param failed: photos that failed, with why.
    :param matched_by: ``name`` or ``face`` when an existing person was found, else ``None``.
    :param score: the face match's score, if any.
    :param error: why the person failed, if it did.
    """

    name: str
    action: str
    person_id: str | None = None
    added: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    matched_by: str | None = None
    score: float | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the person's entry of the report, as plain values."""
        return {
            "name": self.name,
            "action": self.action,
            "personId": self.person_id,
            "added": self.added,
            "matchedBy": self.matched_by,
            "score": self.score,
            "error": self.error,
            "failedFiles": dict(self.failed),
        }

    def describe(self) -> str:
        """One line for the log."""
        parts = [f"{self.name}: {self.action}"]
        if self.person_id is not None:
            parts.append(f"person {self.person_id}")
        if self.added:
            parts.append(f"added {self.added} photo{'s' if self.added > 1 else ''}")
        if self.matched_by:
            parts.append(f"matched by {self.matched_by}" + (f" (score {self.score:g})" if self.score else ""))
        if self.error:
            parts.append(self.error)
        parts.extend(f"{file} failed: {reason}" for file, reason in self.failed.items())
        return "; ".join(parts)


class MediaIntelligenceSyncPersonsOperator(MediaIntelligenceBaseOperator):
    """
    Keep a workspace's persons in line with a folder of faces: ``<source>/<person name>/*.jpg``.

    New photos are uploaded (concurrently, within the API's limits, as the bulk upload does) and,
    person by person as their photos complete, a person the workspace does not hold yet is
    registered, deduplicated as the register operator does (its name looked up, its first new
    photo compared, ``on_match`` deciding), and a known
    person gets the new photos added. Nothing is ever removed or deleted.

    Which file became which thumbnail of which person is kept in a manifest (JSON) at
    ``manifest_path``, written as the sync goes: a second run sends no write request (one read,
    listing the persons, checks they are still there), and a run stopped halfway resumes without
    duplicates, using the keys it had uploaded (up to 23 hours old). When there is no manifest at
    the path, ``on_missing_manifest="start"`` takes every photo as new (a first run; persons
    already in the workspace are still found by name and face, not duplicated, but their photos
    are uploaded and added again), and ``"fail"`` fails the task, for deployments where a missing
    manifest means a wrong path or a worker without the shared folder.

    Returns ``{"persons", "created", "attached", "unchanged", "failed", "changed": {name: person
    id}, "failedPersons": [names], "manifest", "report"}``; the per-person report goes to the log
    and, with ``report_path``, to a JSON file. The task fails at the end when more than
    ``max_failed_persons`` persons failed; it can be retried: the manifest keeps what was done.

    :param source: a folder holding one sub-folder of photos (jpg, jpeg, png, webp) per person,
        named after the person, or a mapping of person name to files: local paths, object-storage
        URLs (``s3://bucket/faces``) or ``ObjectStoragePath`` objects. (templated)
    :param manifest_path: the manifest's path or URL (a local one's folder must exist, an object
        store's bucket); use one every worker sees. (templated)
    :param on_missing_manifest: ``start`` (default) or ``fail``, see above.
    :param on_match: ``attach`` (default), ``fail`` or ``create``, for a new person whose name or
        face the workspace already holds.
    :param score_threshold: the lowest compare score, 80 to 100, that counts as the same person.
    :param workspace_name: the workspace; defaults to the connection's ``workspace_name`` extra.
        (templated)
    :param mi_conn_id: the Airflow connection id. (templated)
    :param max_concurrency: uploads in flight at once.
    :param max_failed_persons: failed persons tolerated before the task fails.
    :param completion_timeout: seconds to wait for an uploaded photo the API does not see yet.
    :param poll_interval: seconds between two completion checks of such a photo.
    :param progress_interval: seconds between two progress lines in the log.
    :param report_path: a local file for the JSON report, or ``None``. (templated)
    :param storage_conn_id: the connection of object-storage URLs given as text, e.g. an AWS
        connection whose ``endpoint_url`` is NCP Object Storage's. (templated)
    """

    template_fields: Sequence[str] = (
        "source",
        "manifest_path",
        "workspace_name",
        "mi_conn_id",
        "report_path",
        "storage_conn_id",
    )
    lineage_writes = (lineage.PERSONS, lineage.PERSON_THUMBNAILS)

    def __init__(
        self,
        *,
        source: str | Mapping[str, Iterable[str]],
        manifest_path: str,
        on_missing_manifest: str = "start",
        on_match: str = "attach",
        score_threshold: int = 90,
        max_concurrency: int = 8,
        max_failed_persons: int = 0,
        completion_timeout: float = 300.0,
        poll_interval: float = 2.0,
        progress_interval: float = 10.0,
        report_path: str | None = None,
        storage_conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.manifest_path = manifest_path
        self.on_missing_manifest = validate_choice(
            on_missing_manifest, "on_missing_manifest", ON_MISSING_MANIFEST
        )
        self.on_match = validate_choice(on_match, "on_match", ON_MATCH)
        self.score_threshold = rules.validate_in_range(
            score_threshold, "score_threshold", rules.SCORE_THRESHOLD_RANGE
        )
        self.max_concurrency = validate_whole_number("max_concurrency", max_concurrency, minimum=1)
        self.max_failed_persons = validate_whole_number("max_failed_persons", max_failed_persons, minimum=0)
        self.completion_timeout = completion_timeout
        self.poll_interval = poll_interval
        self.progress_interval = progress_interval
        self.report_path = report_path
        self.storage_conn_id = storage_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        """Plan from the folder, the manifest and the workspace, then upload and register what is new."""
        hook = self.hook
        # Made here: an operator is deep-copied, a lock cannot be.
        self._lock = threading.Lock()
        with failing_without_retries_on_bad_input():
            photos = read_source(self.source, self.storage_conn_id)
            if not photos:
                raise InvalidParameterError(
                    f"source {self.source!r} holds no person folder with photos; give a folder such as "
                    "'/data/faces' holding '/data/faces/Ada Lovelace/1.jpg'."
                )
            self._manifest_path = storage.manifest_location(self.manifest_path, self.storage_conn_id)
            report_path = validate_output_path(self.report_path)
            workspace = hook.workspace(self.workspace_name)
            self._manifest = self._load_manifest(workspace)
        self._writer = ManifestWriter(
            self._manifest, lambda payload: storage.save_json(self._manifest_path, payload)
        )
        persons = {person.person_id: person for person in hook.list_persons(workspace)}
        self._names = {person.name: person.person_id for person in persons.values() if person.name}
        plans, forgotten = plan_sync(
            self._manifest, photos, persons.keys(), time.time(), lambda photo: storage.fingerprint(photo.path)
        )
        for name, person_id in forgotten:
            self.log.warning(
                "Person %s (%s), in the manifest, is no longer in the workspace: registering it again",
                person_id,
                name,
            )
        uploads = sum(len(plan.upload) for plan in plans)
        self.log.info(
            "%d persons in %s, %d with photos to register (%d to upload); the workspace holds %d",
            len(plans),
            workspace,
            sum(plan.pending for plan in plans),
            uploads,
            len(persons),
        )
        try:
            outcomes = self._sync(plans, workspace)
        except MediaIntelligenceAuthenticationError as err:
            raise AirflowFailException(
                f"The sync stopped: {err} Fix the connection's credentials and run the task again; the "
                "manifest keeps what was done."
            ) from err
        finally:
            self._writer.save(force=True)
        return self._finish(outcomes, workspace, report_path)

    def lineage_sources(self) -> list[str]:
        """The folder of person folders (for a mapping: the folders of its files)."""
        return lineage.local_sources(self.source)

    def asset_event_extra(self, result: dict[str, Any]) -> dict[str, Any]:
        """The counts and ``changed``, person name -> id of those created or given photos (at most 100)."""
        counts = {field: result[field] for field in ("persons", "created", "attached", "unchanged", "failed")}
        return {**counts, **lineage.bounded_mapping(result["changed"], "changed")}

    def _load_manifest(self, workspace: str) -> Manifest:
        where = storage.display(self._manifest_path)
        text = storage.read_text_if_any(self._manifest_path, "manifest_path")
        manifest = read_manifest(text, where, PERSON_SYNC, workspace)
        if manifest is None:
            if self.on_missing_manifest == "fail":
                raise InvalidParameterError(
                    f"manifest_path {where!r} does not exist and on_missing_manifest is "
                    "'fail'. Check the path (every worker must see it); for a first run, set "
                    "on_missing_manifest='start'."
                )
            self.log.info("No manifest at %s: every photo is new to this sync", where)
            return Manifest(workspace)
        return manifest

    # --- the run ---------------------------------------------------------------------------------

    def _sync(self, plans: list[PersonPlan], workspace: str) -> list[PersonOutcome]:
        """Upload in the background, and register person after person as their photos complete."""
        share_session_between_threads(self.hook, self.max_concurrency + 1)  # and this thread
        self._stop = stop = threading.Event()
        self._change_of: dict[Photo, int] = {}
        outcomes: list[PersonOutcome] = []
        with ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="mi-person-sync") as pool:
            jobs = {
                plan.name: [pool.submit(self._upload, plan, photo, workspace, stop) for photo in plan.upload]
                + [pool.submit(self._complete, plan, photo, workspace) for photo in plan.reuse]
                for plan in plans
            }
            last_report = time.monotonic()
            try:
                for number, plan in enumerate(plans, 1):
                    outcomes.append(self._person(plan, jobs[plan.name], workspace))
                    self.log.info("%s", outcomes[-1].describe())
                    if time.monotonic() - last_report >= self.progress_interval:
                        last_report = time.monotonic()
                        self.log.info("Progress: %d of %d persons done", number, len(plans))
            except BaseException:  # the task is being stopped, or the credentials were refused
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        return outcomes

    def _upload(self, plan: PersonPlan, photo: Photo, workspace: str, stop: threading.Event) -> FileUpload:
        """Upload a photo (and wait for the API to see it); remember its key in the manifest."""
        issued = time.time()
        result = upload_file(self.hook, photo.path, workspace, stop)
        if result.thumbnail_key is not None:
            # Recorded once the flow is over: the bytes are in storage (completion answered).
            record = FileRecord(plan.fingerprints[photo], result.thumbnail_key, issued, landed=True)
            self._remember(plan.name, photo, record, result)
            if result.state is UploadOutcome.WAITING:
                result = self._await_completion(workspace, result)
                self._remember(plan.name, photo, record, result)
        return result

    def _complete(self, plan: PersonPlan, photo: Photo, workspace: str) -> FileUpload:
        """Use a key uploaded by an earlier run, once completion says it is there."""
        record = plan.reuse[photo]
        key = record.thumbnail_key
        assert key is not None  # a reused record has its key
        result = FileUpload(str(photo.path), UploadOutcome.COMPLETED, key, "COMPLETED")
        if not record.completed:
            result = self._await_completion(workspace, replace(result, state=UploadOutcome.WAITING))
            self._remember(plan.name, photo, record, result)
        return result

    def _await_completion(self, workspace: str, result: FileUpload) -> FileUpload:
        """Wait as the upload operators do, until the API sees the upload or ``completion_timeout`` passes."""
        key = result.thumbnail_key
        assert key is not None
        wait = CompletionWait(True, False, self.poll_interval, self.completion_timeout)
        outcome = wait.in_task(self.hook, workspace, [key], self.log)
        answered = outcome.completed.get(key) or outcome.failed.get(key)
        if answered is not None:
            return FileUpload(result.file, answered.outcome(), key, answered.raw_status, answered.reason)
        if isinstance(outcome.error, MediaIntelligenceAuthenticationError):
            raise outcome.error
        why = outcome.error or f"not seen by the API within {self.completion_timeout:g} s"
        # No verdict on the bytes: the next run checks the key again.
        return replace(result, state=UploadOutcome.FAILED, upload_status=None, upload_message=str(why))

    def _remember(self, name: str, photo: Photo, record: FileRecord, result: FileUpload) -> None:
        """Record what the upload of a photo came to; save now and then."""
        record.completed = result.state is UploadOutcome.COMPLETED
        # Only the API's own verdict on the bytes is final; anything else is tried again next run.
        refused = result.state is UploadOutcome.FAILED and result.upload_status == "FAILED"
        record.refused = (result.upload_message or "FAILED") if refused else None
        with self._writer.change() as number:
            self._manifest.person(name).files[photo.file_id] = record
        with self._lock:
            self._change_of[photo] = number
        self._writer.save()

    def _save_keys_of(self, photos: Iterable[Photo]) -> None:
        """
        Make sure the manifest on disk holds these photos' keys before they are written to a
        person: a run stopped after the write then finds them again, instead of uploading the
        photos anew and adding them twice.
        """
        with self._lock:
            last = max((self._change_of.get(photo, 0) for photo in photos), default=0)
        self._writer.durable(last)

    # --- one person ------------------------------------------------------------------------------

    def _person(self, plan: PersonPlan, jobs: list[Future[FileUpload]], workspace: str) -> PersonOutcome:
        """Wait for a person's photos, then create it, attach them to it, or leave it as it is."""
        failed = {photo.file_id: f"refused earlier: {reason}" for photo, reason in plan.refused.items()}
        if not plan.pending:
            action = "unchanged" if plan.done else "failed"
            return PersonOutcome(plan.name, action, plan.person_id, failed=failed)
        photos = plan.upload + list(plan.reuse)
        # Rejected credentials raise from job.result() and stop the sync.
        keys = _usable(zip(photos, [job.result() for job in jobs], strict=True), failed)
        if not keys:
            return PersonOutcome(
                plan.name, "failed", plan.person_id, failed=failed, error="no photo uploaded"
            )
        self._save_keys_of(keys)
        try:
            outcome = self._register_with_valid_keys(plan, keys, workspace, failed)
        except MediaIntelligenceAuthenticationError:
            raise
        except MediaIntelligenceError as err:
            return PersonOutcome(plan.name, "failed", plan.person_id, failed=failed, error=str(err))
        outcome.failed = failed
        if outcome.person_id is not None:
            self._registered(plan.name, outcome.person_id, list(keys))
        return outcome

    def _register_with_valid_keys(
        self, plan: PersonPlan, keys: dict[Photo, str], workspace: str, failed: dict[str, str]
    ) -> PersonOutcome:
        """
        Register, and when the API refuses keys an earlier run uploaded (expired sooner than this
        worker's clock says, say), upload those photos again and register once more.
        """
        try:
            return self._register(plan, list(keys.values()), workspace)
        except MediaIntelligenceApiError as err:
            reused = [photo for photo in keys if photo in plan.reuse]
            if err.status != 400 or not reused:
                raise
            self.log.warning(
                "The API refused %s's photos (%s); %d of them were uploaded by an earlier run: uploading "
                "those again",
                plan.name,
                err,
                len(reused),
            )
            for photo in reused:
                del keys[photo]
            uploads = [(photo, self._upload(plan, photo, workspace, self._stop)) for photo in reused]
            keys.update(_usable(uploads, failed))
            self._save_keys_of(keys)
            return self._register(plan, list(keys.values()), workspace)

    def _register(self, plan: PersonPlan, keys: list[str], workspace: str) -> PersonOutcome:
        hook = self.hook
        person_id, matched_by, score = plan.person_id, None, None
        if person_id is None and plan.name in self._names:
            person_id, matched_by = self._names[plan.name], "name"
        if person_id is None:
            match = best_face_match(hook, workspace, keys[:1], self.score_threshold)
            if match is not None and self.on_match != "create":
                person_id, matched_by, score = match.person_id, "face", match.score
        if matched_by is not None and self.on_match != "attach":
            why = "on_match='fail'" if self.on_match == "fail" else "its name is taken, and names are unique"
            return PersonOutcome(
                plan.name,
                "failed",
                matched_by=matched_by,
                score=score,
                error=f"the workspace already holds person {person_id}; not registering another ({why})",
            )
        if person_id is None:
            person = hook.create_person(workspace, keys, name=plan.name)
            self._names[plan.name] = person.person_id
            return PersonOutcome(plan.name, "created", person.person_id, added=len(keys))
        # A run stopped after its write and before saving the manifest has added some already.
        held = {thumbnail.thumbnail_key for thumbnail in hook.get_person(workspace, person_id).thumbnails}
        new = [key for key in keys if key not in held]
        if new:
            hook.add_person_thumbnails(workspace, person_id, new)
        action = "attached" if new else "unchanged"
        return PersonOutcome(plan.name, action, person_id, len(new), matched_by=matched_by, score=score)

    def _registered(self, name: str, person_id: str, photos: list[Photo]) -> None:
        with self._writer.change():
            record = self._manifest.person(name)
            record.person_id = person_id
            for photo in photos:
                record.files[photo.file_id].registered = True
        # Not forced: a person written just before a stop is found again by name or face, with
        # the thumbnails it holds, so a lost second of manifest costs reads, never duplicates.
        self._writer.save()

    # --- the end ---------------------------------------------------------------------------------

    def _finish(
        self, outcomes: list[PersonOutcome], workspace: str, report_path: Path | None
    ) -> dict[str, Any]:
        counts = Counter(outcome.action for outcome in outcomes)
        summary = ", ".join(
            f"{counts[action]} {action}" for action in ("created", "attached", "unchanged", "failed")
        )
        self.log.info("Done: %d persons: %s", len(outcomes), summary)
        if report_path is not None:
            entries = [outcome.to_dict() for outcome in outcomes]
            write_json(report_path, {"workspace": workspace, "counts": dict(counts), "persons": entries})
        failed = [outcome for outcome in outcomes if outcome.action == "failed"]
        if len(failed) > self.max_failed_persons:
            named = "; ".join(outcome.describe() for outcome in failed[:20])
            raise AirflowException(
                f"{len(failed)} of {len(outcomes)} persons failed (tolerated: {self.max_failed_persons}): "
                f"{named.rstrip('.')}. The manifest keeps what was done: a retry or the next run resumes."
            )
        return {
            "persons": len(outcomes),
            **{action: counts[action] for action in ("created", "attached", "unchanged", "failed")},
            "changed": {o.name: o.person_id for o in outcomes if o.action in ("created", "attached")},
            "failedPersons": [outcome.name for outcome in failed],
            "manifest": storage.display(self._manifest_path),
            "report": None if report_path is None else str(report_path),
        }


def _usable(results: Iterable[tuple[Photo, FileUpload]], failed: dict[str, str]) -> dict[Photo, str]:
    """Return the keys of the completed uploads, by photo; note why the others failed in ``failed``."""
    keys = {}
    for photo, result in results:
        if result.state is UploadOutcome.COMPLETED and result.thumbnail_key:
            keys[photo] = result.thumbnail_key
        else:
            failed[photo.file_id] = result.upload_message or result.upload_status or result.state.value
    return keys


def read_source(source: Any, conn_id: str | None) -> dict[str, list[Photo]]:
    """
    Return each person's photos, by name, checked as
    :func:`~airflow_provider_mi.core.person_sync.check_persons` says.

    :param source: a folder (local or in object storage) holding one sub-folder of photos per
        person, or a mapping of person name to files (paths or URLs).
    :param conn_id: the connection of object-storage URLs given as text.
    """
    if isinstance(source, Mapping):
        photos = {}
        for name, files in source.items():
            locations = [storage.resolve(file, "source", conn_id) for file in files]
            missing = [storage.display(location) for location in locations if not _is_file(location)]
            if missing:
                raise InvalidParameterError(
                    f"source names files that are not there: {', '.join(missing[:10])}."
                )
            photos[str(name)] = [Photo(storage.display(location), location) for location in locations]
        return check_persons(photos)
    root = storage.resolve(source, "source", conn_id)
    tree = storage.list_tree(root, "source")
    loose = sorted(location.name for location, _ in tree.pop("", []) if is_photo(location.name))
    if loose:
        raise InvalidParameterError(
            f"source {storage.display(root)!r} holds photos outside a person's folder "
            f"({', '.join(loose[:5])}); move each into a folder named after the person."
        )
    photos = {
        folder: [
            Photo(
                f"{folder}/{location.name}",
                location,
                None if info is None else storage.fingerprint(location, info),
            )
            for location, info in sorted(files, key=lambda item: item[0].name)
            if is_photo(location.name)
        ]
        for folder, files in tree.items()
        if not folder.startswith(".")
    }
    return check_persons(photos)


def _is_file(location: storage.Location) -> bool:
    try:
        return location.is_file()
    except Exception as err:
        raise storage.storage_error(location, "read", err, "source") from err
