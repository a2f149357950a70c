"""
What a person sync has to do, decided from the folder, the manifest and the workspace's persons.

Airflow-free and free of I/O but for reading the photos' hashes: the operator
(:mod:`airflow_provider_mi.operators.person_sync`) carries the plan out.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from airflow_provider_mi.core import person_rules as rules
from airflow_provider_mi.core.local_files import sha256_of
from airflow_provider_mi.core.manifest import FileRecord, Manifest
from airflow_provider_mi.exceptions import InvalidParameterError

#: File name suffixes taken as photos (case-insensitive).
PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})


@dataclass(frozen=True)
class Photo:
    """
    One photo of the source.

    :param file_id: how the manifest knows it: its path relative to the folder, or as the mapping gives it.
    :param path: where it is read from.
    """

    file_id: str
    path: Path


def read_source(source: str | Path | Mapping[str, Iterable[str]]) -> dict[str, list[Photo]]:
    """
    Return each person's photos, by name, checked: names by the API's rules, at most 100 photos
    each, every file there.

    :param source: a folder holding one sub-folder of photos (jpg, jpeg, png, webp) per person,
        named after the person, or a mapping of person name to file paths.
    """
    if isinstance(source, Mapping):
        photos = {
            str(name): [Photo(str(path), Path(path)) for path in paths] for name, paths in source.items()
        }
        missing = [
            photo.file_id for listed in photos.values() for photo in listed if not photo.path.is_file()
        ]
        if missing:
            raise InvalidParameterError(f"source names files that are not there: {', '.join(missing[:10])}.")
    elif isinstance(source, (str, Path)) and str(source).strip():
        photos = _read_folder(Path(source).expanduser())
    else:
        raise InvalidParameterError(
            f"source is {source!r}; give a folder of person folders, e.g. '/data/faces' holding "
            "'/data/faces/Ada Lovelace/1.jpg', or a mapping of person name to files."
        )
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


def _read_folder(root: Path) -> dict[str, list[Photo]]:
    if not root.is_dir():
        raise InvalidParameterError(
            f"source {str(root)!r} is not a folder on this worker; give a folder of person folders."
        )
    loose = sorted(child.name for child in root.iterdir() if _is_photo(child))
    if loose:
        raise InvalidParameterError(
            f"source {str(root)!r} holds photos outside a person's folder ({', '.join(loose[:5])}); "
            "move each into a folder named after the person."
        )
    return {
        folder.name: [
            Photo(f"{folder.name}/{child.name}", child)
            for child in sorted(folder.iterdir())
            if _is_photo(child)
        ]
        for folder in root.iterdir()
        if folder.is_dir() and not folder.name.startswith(".")
    }


def _is_photo(path: Path) -> bool:
    return path.suffix.lower() in PHOTO_SUFFIXES and path.is_file() and not path.name.startswith(".")


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
    """

    name: str
    person_id: str | None = None
    done: list[Photo] = field(default_factory=list)
    refused: dict[Photo, str] = field(default_factory=dict)
    reuse: dict[Photo, FileRecord] = field(default_factory=dict)
    upload: list[Photo] = field(default_factory=list)
    hashes: dict[Photo, str] = field(default_factory=dict, repr=False)

    @property
    def pending(self) -> bool:
        """Whether anything is to be sent for this person."""
        return bool(self.reuse or self.upload)


def plan_sync(
    manifest: Manifest, photos: Mapping[str, list[Photo]], person_ids: Collection[str], now: float
) -> tuple[list[PersonPlan], list[tuple[str, str]]]:
    """
    Decide what each person needs; forget, in the manifest, persons the workspace no longer holds.

    Returns the plans, by name, and the ``(name, person id)`` of the persons forgotten.

    :param manifest: the manifest (changed in place for forgotten persons).
    :param photos: each person's photos, by name.
    :param person_ids: the ids of the persons the workspace holds now.
    :param now: the time (``time.time()``), to tell usable keys from expired ones.
    """
    plans, forgotten = [], []
    for name, listed in photos.items():
        record = manifest.person(name)
        if record.person_id is not None and record.person_id not in person_ids:
            # Deleted or merged away: its keys are spent, its photos go up again.
            forgotten.append((name, record.person_id))
            record.person_id = None
            record.files = {path: FileRecord(entry.sha256) for path, entry in record.files.items()}
        plan = PersonPlan(name, record.person_id)
        for photo in listed:
            digest = plan.hashes[photo] = sha256_of(photo.path)
            entry = record.files.get(photo.file_id)
            if entry is None or entry.sha256 != digest:
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
