"""
The manifest of a person sync or a bulk upload: which file became which thumbnail key.

A task reads it first and writes it as it goes, so that a second run, on any worker, sends
nothing for what is done, and a run stopped halfway resumes: keys already uploaded are used
again (within :data:`KEY_REUSE_SECONDS`), persons already created are found again. A file is
known by its path and its content's fingerprint (a local file's SHA-256, an object's ETag): a
changed file is a new one. A person sync's files are kept by person, a bulk upload's by path alone.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_mi.exceptions import InvalidParameterError

#: The manifest's format; a manifest of another format is refused rather than misread.
FORMAT = 2
#: How long after its upload a key is used again instead of uploading the file anew. The API lets
#: a key expire 24 hours after its upload; the hour left is for clocks and slow runs.
KEY_REUSE_SECONDS = 23 * 3600
#: Seconds between two saves of a manifest during a run, unless a change must be on disk at once.
SAVE_INTERVAL = 1.0
#: The kinds of manifest: whose task wrote it, and so what it holds.
PERSON_SYNC, BULK_UPLOAD = "person-sync", "bulk-upload"
KINDS = (PERSON_SYNC, BULK_UPLOAD)


@dataclass
class FileRecord:
    """
    What became of one file.

    :param fingerprint: the content's fingerprint when it was uploaded.
    :param thumbnail_key: its key, once issued.
    :param uploaded_at: when (``time.time()``) the key was issued.
    :param completed: whether completion answered ``COMPLETED`` for the key.
    :param registered: whether the key is a thumbnail of the person (a person sync's).
    :param refused: why the API refused the file for good (e.g. ``OVER_SIZE_LIMIT``), if it did.
    :param landed: whether storage took the bytes; a key saved before its upload is not known to.
    """

    fingerprint: str
    thumbnail_key: str | None = None
    uploaded_at: float | None = None
    completed: bool = False
    registered: bool = False
    refused: str | None = None
    landed: bool = False

    def reusable_key(self, now: float) -> str | None:
        """Return the key when it may be registered still, else ``None``."""
        if self.thumbnail_key is None or self.uploaded_at is None or self.refused is not None:
            return None
        return self.thumbnail_key if now - self.uploaded_at < KEY_REUSE_SECONDS else None

    def to_dict(self) -> dict[str, Any]:
        """Return the record as JSON values."""
        return {
            "fingerprint": self.fingerprint,
            "thumbnailKey": self.thumbnail_key,
            "uploadedAt": self.uploaded_at,
            "completed": self.completed,
            "registered": self.registered,
            "refused": self.refused,
            "landed": self.landed,
        }

    @classmethod
    def from_dict(cls, entry: dict[str, Any]) -> FileRecord:
        """Read a record written by :meth:`to_dict`."""
        return cls(
            str(entry["fingerprint"]),
            entry["thumbnailKey"],
            entry["uploadedAt"],
            bool(entry["completed"]),
            bool(entry["registered"]),
            entry["refused"],
            bool(entry["landed"]),
        )


@dataclass
class PersonRecord:
    """
    A person of the folder: its id in the workspace, once known, and its files by path.

    :param person_id: the person's id, once created or matched.
    :param files: the files, by their path as the source names them.
    """

    person_id: str | None = None
    files: dict[str, FileRecord] = field(default_factory=dict)


@dataclass
class Manifest:
    """
    The whole manifest of a task's work in one workspace.

    :param workspace: the workspace the thumbnails (and persons) live in.
    :param persons: a person sync's persons, by the name of their folder (or mapping key).
    :param kind: :data:`PERSON_SYNC` or :data:`BULK_UPLOAD`.
    :param files: a bulk upload's files, by their path or URL.
    """

    workspace: str
    persons: dict[str, PersonRecord] = field(default_factory=dict)
    kind: str = PERSON_SYNC
    files: dict[str, FileRecord] = field(default_factory=dict)

    def person(self, name: str) -> PersonRecord:
        """Return the record of a person, created empty if needed."""
        return self.persons.setdefault(name, PersonRecord())

    def to_dict(self) -> dict[str, Any]:
        """Return the manifest as JSON values."""
        payload: dict[str, Any] = {"format": FORMAT, "kind": self.kind, "workspace": self.workspace}
        if self.kind == BULK_UPLOAD:
            payload["files"] = {path: record.to_dict() for path, record in sorted(self.files.items())}
            return payload
        payload["persons"] = {
            name: {
                "personId": person.person_id,
                "files": {path: record.to_dict() for path, record in sorted(person.files.items())},
            }
            for name, person in sorted(self.persons.items())
        }
        return payload

    @classmethod
    def from_dict(cls, payload: Any, where: str, kind: str) -> Manifest:
        """
        Read a manifest written by :meth:`to_dict`.

        :param payload: the decoded JSON.
        :param where: the manifest's path, for error messages.
        :param kind: the kind expected; a manifest of another kind is refused.
        """
        try:
            if payload.get("format") != FORMAT:
                raise ValueError(f"format {payload.get('format')!r}, expected {FORMAT}")
            found = payload["kind"]
            if found in KINDS and found != kind:
                raise InvalidParameterError(
                    f"manifest_path {where!r} is the manifest of a {_task(found)}, not of a {_task(kind)}; "
                    "give each task a manifest of its own."
                )
            if found != kind:
                raise ValueError(f"kind {found!r}, expected {kind!r}")
            workspace = str(payload["workspace"])
            if kind == BULK_UPLOAD:
                files = {str(path): FileRecord.from_dict(entry) for path, entry in payload["files"].items()}
                return cls(workspace, kind=kind, files=files)
            persons = {
                str(name): PersonRecord(
                    None if person["personId"] is None else str(person["personId"]),
                    {str(path): FileRecord.from_dict(entry) for path, entry in person["files"].items()},
                )
                for name, person in payload["persons"].items()
            }
            return cls(workspace, persons)
        except InvalidParameterError:
            raise
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            raise InvalidParameterError(
                f"manifest_path {where!r} is not a {kind} manifest ({type(err).__name__}: {err}). "
                f"Give the path of this {_task(kind)}'s manifest, or move the file away to start afresh."
            ) from err


def _task(kind: str) -> str:
    return kind.replace("-", " ")


def read_manifest(text: str | None, where: str, kind: str, workspace: str) -> Manifest | None:
    """
    Return the manifest in ``text``, or ``None`` when there is no file; refuse a manifest of
    another kind or workspace.

    :param text: the file's content, ``None`` when there is no file.
    :param where: the manifest's location, for error messages.
    :param kind: :data:`PERSON_SYNC` or :data:`BULK_UPLOAD`.
    :param workspace: the workspace of the task reading it.
    """
    if text is None:
        return None
    try:
        payload = json.loads(text)
    except ValueError as err:
        raise InvalidParameterError(
            f"manifest_path {where!r} is not JSON ({err}). Give the path of this {_task(kind)}'s manifest, "
            "or move the file away to start afresh."
        ) from err
    manifest = Manifest.from_dict(payload, where, kind)
    if manifest.workspace != workspace:
        raise InvalidParameterError(
            f"manifest_path {where!r} is the manifest of workspace "
            f"{manifest.workspace!r}, not {workspace!r}; give each workspace a manifest of its own."
        )
    return manifest


class ManifestWriter:
    """
    Keep a manifest saved while threads change it: at most once per ``interval``, unless a change
    must be on disk at once (:meth:`durable`).

    :param manifest: the manifest.
    :param write: writes the manifest's JSON whole (to a file, or an object in object storage).
    :param interval: seconds between two saves that are not forced.
    """

    def __init__(
        self, manifest: Manifest, write: Callable[[dict[str, Any]], None], interval: float = SAVE_INTERVAL
    ) -> None:
        self.manifest = manifest
        self._write, self._interval = write, interval
        self._lock = threading.Lock()  # the manifest and the change counts
        self._save_lock = threading.Lock()  # one save at a time, each of a copy at least as new
        self._changes = self._saved = 0
        self._last_save = -math.inf

    @contextmanager
    def change(self) -> Iterator[int]:
        """Change :attr:`manifest` in the block, under the lock; yields the change's number."""
        with self._lock:
            self._changes += 1
            yield self._changes

    @property
    def saved(self) -> int:
        """The number of the last change on disk."""
        return self._saved

    def save(self, *, force: bool = False) -> None:
        """Write the manifest if it changed and ``interval`` has passed since the last save, or if forced."""
        if not force and (
            self._saved == self._changes or time.monotonic() - self._last_save < self._interval
        ):
            return
        with self._save_lock:
            self._save_now()

    def next_save_in(self) -> float:
        """Seconds until :meth:`save` may write again (0 when it may now)."""
        return max(0.0, self._last_save + self._interval - time.monotonic())

    def durable(self, number: int) -> None:
        """Return once change ``number`` is on disk, saving now if it is not yet."""
        if self._saved >= number:
            return
        with self._save_lock:
            if self._saved < number:  # not saved by another thread meanwhile
                self._save_now()

    def _save_now(self) -> None:
        with self._lock:
            payload, number = self.manifest.to_dict(), self._changes
            self._last_save = time.monotonic()
        self._write(payload)
        self._saved = number
