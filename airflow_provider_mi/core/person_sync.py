"""
What a person sync has to do, decided from the source's photos, the manifest and the workspace's
persons. Airflow-free and free of I/O: the operator
(:mod:`airflow_provider_mi.operators.person_sync`) lists and reads the source and carries the plan out.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from airflow_provider_mi.core import person_rules as rules
from airflow_provider_mi.core.manifest import FileRecord, Manifest
from airflow_provider_mi.exceptions import InvalidParameterError

#: File name suffixes taken as photos (case-insensitive).
PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})


@dataclass(frozen=True)
class Photo:
    """
    One photo of the source.

    :param file_id: how the manifest knows it: its path relative to the folder, or as the mapping gives it.
    :param path: where it is read from (a local path or an object-storage path).
    :param fingerprint: its content's fingerprint when the listing gave it (an object's ETag).
    """

    file_id: str
    path: Any = field(compare=False)
    fingerprint: str | None = field(default=None, compare=False)


def is_photo(name: str) -> bool:
    """Whether a file name is a photo's: an image suffix, not a hidden file."""
    return PurePosixPath(name).suffix.lower() in PHOTO_SUFFIXES and not name.startswith(".")


def check_persons(photos: Mapping[str, list[Photo]]) -> dict[str, list[Photo]]:
    """
    Return each person's photos, by name in order, those without photos left out, after checking
    the names by the API's rules and at most 100 photos a person.

    :param photos: each person's photos, by name.
    """
    for name, listed in photos.items():
        try:
            rules.validate_person_name(name, f"the person name {name!r} in source")
        except InvalidParameterError as err:
            raise InvalidParameterError(f"{err} Rename the person's folder (or mapping key).") from err
        if len(listed) > rules.MAX_THUMBNAILS:
            raise InvalidParameterError(
                f"The person {name!r} in source has {len(listed)} photos; a person holds at most "
                f"{rules.MAX_THUMBNAILS}. Keep the best ones."
            )
    return {name: listed for name, listed in sorted(photos.items()) if listed}


@dataclass
class PersonPlan:
    """
    What one person of the source needs.

    :param name: the person's name.
    :param person_id: the person's id when the manifest knows it and the workspace still holds it.
    :param done: photos registered already.
    :param refused: photos the API refused for good before (same content), with the reason.
    :param reuse: photos uploaded before and not registered yet, whose keys are still valid.
    :param upload: photos to upload.
    :param fingerprints: every photo's fingerprint now.
    """

    name: str
    person_id: str | None = None
    done: list[Photo] = field(default_factory=list)
    refused: dict[Photo, str] = field(default_factory=dict)
    reuse: dict[Photo, FileRecord] = field(default_factory=dict)
    upload: list[Photo] = field(default_factory=list)
    fingerprints: dict[Photo, str] = field(default_factory=dict, repr=False)

    @property
    def pending(self) -> bool:
        """Whether anything is to be sent for this person."""
        return bool(self.reuse or self.upload)


def plan_sync(
    manifest: Manifest,
    photos: Mapping[str, list[Photo]],
    person_ids: Collection[str],
    now: float,
    fingerprint: Callable[[Photo], str],
) -> tuple[list[PersonPlan], list[tuple[str, str]]]:
    """
    Decide what each person needs; forget, in the manifest, persons the workspace no longer holds.

    Returns the plans, by name, and the ``(name, person id)`` of the persons forgotten.

    :param manifest: the manifest (changed in place for forgotten persons).
    :param photos: each person's photos, by name.
    :param person_ids: the ids of the persons the workspace holds now.
    :param now: the time (``time.time()``), to tell usable keys from expired ones.
    :param fingerprint: a photo's fingerprint now (a photo's own, or computed from its content).
    """
    plans, forgotten = [], []
    for name, listed in photos.items():
        record = manifest.person(name)
        if record.person_id is not None and record.person_id not in person_ids:
            # Deleted or merged away: its keys are spent, its photos go up again.
            forgotten.append((name, record.person_id))
            record.person_id = None
            record.files = {path: FileRecord(entry.fingerprint) for path, entry in record.files.items()}
        plan = PersonPlan(name, record.person_id)
        for photo in listed:
            current = plan.fingerprints[photo] = photo.fingerprint or fingerprint(photo)
            entry = record.files.get(photo.file_id)
            if entry is None or entry.fingerprint != current:
                plan.upload.append(photo)
            elif entry.registered:
                plan.done.append(photo)
            elif entry.refused is not None:
                plan.refused[photo] = entry.refused
            elif entry.reusable_key(now) is not None:
                plan.reuse[photo] = entry
            else:
                plan.upload.append(photo)
        plans.append(plan)
    return plans, forgotten
