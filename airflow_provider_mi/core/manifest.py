"""
The person sync's manifest: which file became which thumbnail key of which person.

A sync reads it first and writes it as it goes, so that a second run, on any worker, sends
nothing for what is done, and a run stopped halfway resumes: keys already uploaded are used
again (within :data:`KEY_REUSE_SECONDS`), persons already created are found again. A file is
known by its person, its path and its content's fingerprint (a local file's SHA-256, an object's
ETag): a changed photo is a new one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_mi.exceptions import InvalidParameterError

#: The manifest's format; a manifest of another format is refused rather than misread.
FORMAT = 1
#: How long after its upload a key is used again instead of uploading the file anew. The API lets
#: a key expire 24 hours after its upload; the hour left is for clocks and slow runs.
KEY_REUSE_SECONDS = 23 * 3600


@dataclass
class FileRecord:
    """
    What became of one file.

    :param fingerprint: the content's fingerprint when it was uploaded.
    :param thumbnail_key: its key, once uploaded.
    :param uploaded_at: when (``time.time()``) the key was issued.
    :param completed: whether completion answered ``COMPLETED`` for the key.
    :param registered: whether the key is a thumbnail of the person.
    :param refused: why the API refused the file for good (e.g. ``OVER_SIZE_LIMIT``), if it did.
    """

    fingerprint: str
    thumbnail_key: str | None = None
    uploaded_at: float | None = None
    completed: bool = False
    registered: bool = False
    refused: str | None = None

    def reusable_key(self, now: float) -> str | None:
        """Return the key when it may be registered still, else ``None``."""
        if self.thumbnail_key is None or self.uploaded_at is None or self.refused is not None:
            return None
        return self.thumbnail_key if now - self.uploaded_at < KEY_REUSE_SECONDS else None


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
    The whole manifest of a sync into one workspace.

    :param workspace: the workspace the persons live in.
    :param persons: the persons, by the name of their folder (or mapping key).
    """

    workspace: str
    persons: dict[str, PersonRecord] = field(default_factory=dict)

    def person(self, name: str) -> PersonRecord:
        """Return the record of a person, created empty if needed."""
        return self.persons.setdefault(name, PersonRecord())

    def to_dict(self) -> dict[str, Any]:
        """Return the manifest as JSON values."""
        return {
            "format": FORMAT,
            "workspace": self.workspace,
            "persons": {
                name: {
                    "personId": person.person_id,
                    "files": {
                        path: {
                            "fingerprint": record.fingerprint,
                            "thumbnailKey": record.thumbnail_key,
                            "uploadedAt": record.uploaded_at,
                            "completed": record.completed,
                            "registered": record.registered,
                            "refused": record.refused,
                        }
                        for path, record in sorted(person.files.items())
                    },
                }
                for name, person in sorted(self.persons.items())
            },
        }

    @classmethod
    def from_dict(cls, payload: Any, where: str) -> Manifest:
        """
        Read a manifest written by :meth:`to_dict`.

        :param payload: the decoded JSON.
        :param where: the manifest's path, for error messages.
        """
        try:
            if payload.get("format") != FORMAT:
                raise ValueError(f"format {payload.get('format')!r}, expected {FORMAT}")
            persons = {
                str(name): PersonRecord(
                    None if person["personId"] is None else str(person["personId"]),
                    {
                        str(path): FileRecord(
                            str(entry["fingerprint"]),
                            entry["thumbnailKey"],
                            entry["uploadedAt"],
                            bool(entry["completed"]),
                            bool(entry["registered"]),
                            entry["refused"],
                        )
                        for path, entry in person["files"].items()
                    },
                )
                for name, person in payload["persons"].items()
            }
            return cls(str(payload["workspace"]), persons)
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            raise InvalidParameterError(
                f"manifest_path {where!r} is not a person-sync manifest ({type(err).__name__}: {err}). "
                "Give the path of this sync's manifest, or move the file away to start afresh."
            ) from err


def read_manifest(text: str | None, where: str) -> Manifest | None:
    """
    Return the manifest in ``text``, or ``None`` when there is no file.

    :param text: the file's content, ``None`` when there is no file.
    :param where: the manifest's location, for error messages.
    """
    if text is None:
        return None
    try:
        payload = json.loads(text)
    except ValueError as err:
        raise InvalidParameterError(
            f"manifest_path {where!r} is not JSON ({err}). Give the path of this sync's manifest, or "
            "move the file away to start afresh."
        ) from err
    return Manifest.from_dict(payload, where)
