"""
Where the operators read images, and the person sync and the bulk upload their manifests: a local
path on the worker, or object storage through Airflow's :class:`~airflow.sdk.ObjectStoragePath`
(``s3://bucket/key`` with a connection id, e.g. NCP Object Storage through an AWS connection whose
``endpoint_url`` points at it, or any fsspec filesystem Airflow knows).

Every listing and read turns the storage's own errors (a missing object or bucket, refused
credentials, an endpoint that does not answer) into an :class:`InvalidParameterError` naming the
location and what to check, so that a task fails clearly before any Media Intelligence request.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Before anything of Airflow's: on an Airflow older than supported, the provider's own clear error.
from airflow_provider_mi import version_compat  # noqa: F401

# isort: split
from airflow.providers.common.compat.sdk import ObjectStoragePath

from airflow_provider_mi.core.local_files import sha256_of, write_json
from airflow_provider_mi.exceptions import InvalidParameterError

#: A place to read from or write to: a local path, or an object-storage path.
Location = Path | ObjectStoragePath
#: File name suffixes taken from a folder (case-insensitive); globs and lists are taken as given.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp"})


def resolve(value: Any, field: str, conn_id: str | None = None) -> Location:
    """
    Return the location ``value`` names.

    :param value: a local path, a URL such as ``s3://bucket/key`` (``file://`` is local), or an
        :class:`ObjectStoragePath` (which keeps its own connection).
    :param field: the parameter's name, for the error.
    :param conn_id: the connection of URLs given as text, e.g. an AWS connection for ``s3://``.
    """
    if isinstance(value, ObjectStoragePath):
        return value
    if isinstance(value, os.PathLike):
        return Path(value).expanduser()
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameterError(
            f"{field} is {value!r}; give a local path such as '/data/faces', or a URL such as "
            "'s3://bucket/faces' with a connection id."
        )
    parts = urlsplit(value)
    if "://" not in value or len(parts.scheme) < 2:  # "C:" style drives are no scheme either
        return Path(value).expanduser()
    if parts.scheme == "file":
        return Path(parts.path)
    try:
        return ObjectStoragePath(value, conn_id=conn_id)
    except (ValueError, ImportError) as err:  # a scheme no installed provider serves
        raise InvalidParameterError(
            f"{field} {value!r} cannot be read: {err}. Install the provider of {parts.scheme}:// (e.g. "
            "apache-airflow-providers-amazon[s3fs] for s3://), or give a local path."
        ) from err


def display(location: Location) -> str:
    """The location as a user writes it: the path, or the URL without the connection id."""
    # (On Airflow 2, an ObjectStoragePath is a pathlib.Path too: test for it first, everywhere.)
    return (
        f"{location.protocol}://{location.path}" if isinstance(location, ObjectStoragePath) else str(location)
    )


def problem(err: BaseException) -> str:
    """Say in words what went wrong with a listing or a read."""
    if isinstance(err, OSError) and err.strerror and isinstance(err.filename, str):  # the worker's own
        return f"{err.strerror}; check that it exists on the worker and is readable"
    if isinstance(err, FileNotFoundError):
        return "it does not exist (or its bucket does not)"
    if isinstance(err, PermissionError):
        return "access is denied: check the connection's credentials and the bucket's policy"
    return f"{type(err).__name__}: {err}; check the connection (its endpoint_url and credentials)"


def storage_error(location: Location, action: str, err: BaseException, field: str) -> InvalidParameterError:
    """The error for a location that cannot be listed or read, with what to check."""
    return InvalidParameterError(f"{field} {display(location)!r} cannot be {action}: {problem(err)}.")


def read_bytes(location: Location) -> bytes:
    """Read an object once, whole; storage errors are raised as they are (callers name the field)."""
    return location.read_bytes()


def fingerprint(location: Location, info: dict[str, Any] | None = None, data: bytes | None = None) -> str:
    """
    What tells one content of a file from another: the SHA-256 of a local file (of ``data``, its
    bytes, when they were read already), or the object's ETag (from a listing's ``info`` when
    given, saving a request), which changes with its content.
    """
    if not isinstance(location, ObjectStoragePath):
        return sha256_of(location) if data is None else hashlib.sha256(data).hexdigest()
    details = info if info is not None else location.fs.info(location.path)
    tag = details.get("ETag") or details.get("etag") or details.get("md5Hash") or details.get("checksum")
    return f"etag:{str(tag).strip(chr(34))}" if tag else f"size:{details.get('size')}"


def find_images(sources: Any, conn_id: str | None = None, field: str = "sources") -> list[Location]:
    """
    Return the files named by ``sources``, sorted and without duplicates.

    :param sources: a folder (its images: jpg, jpeg, png, webp, not recursive), a glob pattern
        (``**`` recurses), a file, each as a path or an object-storage URL, or a list of those.
    :param conn_id: the connection of object-storage URLs given as text.
    :param field: the parameter's name, for errors.
    """
    listed = [sources] if isinstance(sources, (str, os.PathLike, ObjectStoragePath)) else sources
    if not isinstance(listed, (list, tuple)):
        raise InvalidParameterError(
            f"{field} is {sources!r}; give a folder, a glob pattern or a file (a path or a URL), or a "
            "list of those."
        )
    if any(isinstance(source, str) and not source.strip() for source in listed):
        # Path("") is the current directory: a template that rendered to nothing must not upload it.
        raise InvalidParameterError(
            f"{field} {sources!r} has an empty entry; name a folder, pattern or file."
        )
    found: dict[str, Location] = {}
    for source in listed:
        location = resolve(source, field, conn_id)
        matches = (
            _remote_matches(location, field)
            if isinstance(location, ObjectStoragePath)
            else _local_matches(location)
        )
        found.update((display(match), match) for match in matches)
    return [found[name] for name in sorted(found)]


def _local_matches(path: Path) -> Iterable[Path]:
    if path.is_dir():
        return [
            child for child in path.iterdir() if child.suffix.lower() in IMAGE_SUFFIXES and child.is_file()
        ]
    if glob.has_magic(str(path)):
        return [Path(match) for match in glob.glob(str(path), recursive=True) if not Path(match).is_dir()]
    return [path]


def _remote_matches(location: ObjectStoragePath, field: str) -> list[ObjectStoragePath]:
    """List a folder, glob a pattern or check a file, in one or two requests."""
    fs = location.fs
    try:
        if glob.has_magic(location.path):
            names = [
                name for name, info in fs.glob(location.path, detail=True).items() if info["type"] == "file"
            ]
        else:
            info = fs.info(location.path)  # raises FileNotFoundError for what is not there
            if info["type"] != "directory":
                return [location]
            names = [
                entry["name"]
                for entry in fs.ls(location.path, detail=True)
                if entry["type"] == "file" and Path(entry["name"]).suffix.lower() in IMAGE_SUFFIXES
            ]
    except Exception as err:  # whatever the filesystem raises: missing, denied, unreachable
        raise storage_error(location, "listed", err, field) from err
    return [_object(location, name) for name in names]


def _object(near: ObjectStoragePath, name: str) -> ObjectStoragePath:
    """The object ``name`` (``bucket/key``) on the filesystem and connection of ``near``."""
    # Airflow 3 keeps the connection id as an attribute, Airflow 2 among the storage options.
    conn_id = getattr(near, "conn_id", None) or getattr(near, "storage_options", {}).get("conn_id")
    return ObjectStoragePath(f"{near.protocol}://{name}", conn_id=conn_id)


def list_tree(root: Location, field: str) -> dict[str, list[tuple[Location, dict[str, Any] | None]]]:
    """
    Return the files of each sub-folder of ``root``, by the sub-folder's name (one level deep),
    with each file's listing details (object storage) or ``None`` (local); files at the top are
    under the name ``""``.
    """
    if not isinstance(root, ObjectStoragePath):
        if not root.is_dir():
            raise InvalidParameterError(f"{field} {str(root)!r} is not a folder on this worker.")
        tree: dict[str, list[tuple[Location, dict[str, Any] | None]]] = {}
        for child in root.iterdir():
            if child.is_file():
                tree.setdefault("", []).append((child, None))
            elif child.is_dir():
                tree[child.name] = [(item, None) for item in child.iterdir() if item.is_file()]
        return tree
    fs, prefix = root.fs, root.path.rstrip("/")
    try:
        entries = fs.find(prefix, maxdepth=2, detail=True)
    except Exception as err:
        raise storage_error(root, "listed", err, field) from err
    if not entries:
        raise InvalidParameterError(
            f"{field} {display(root)!r} holds no file: it is empty, or it (or its bucket) does not exist."
        )
    remote: dict[str, list[tuple[Location, dict[str, Any] | None]]] = {}
    for name, info in entries.items():
        relative = name[len(prefix) :].strip("/").split("/")
        folder = relative[0] if len(relative) == 2 else ""
        remote.setdefault(folder, []).append((_object(root, name), info))
    return remote


def save_json(location: Location, payload: dict[str, Any]) -> None:
    """Write JSON whole or not at all: atomically on the worker, one ``PUT`` in object storage."""
    if isinstance(location, ObjectStoragePath):
        location.write_text(json.dumps(payload, indent=1), encoding="utf-8")
    else:
        write_json(location, payload)


def check_writable(location: Location, field: str) -> None:
    """Refuse a file location whose folder (or bucket) is not there to write in, before any request."""
    if not isinstance(location, ObjectStoragePath):
        if location.is_dir():
            raise InvalidParameterError(f"{field} {str(location)!r} is a folder; name a file in it.")
        if not location.parent.is_dir() or not os.access(location.parent, os.W_OK):
            raise InvalidParameterError(
                f"{field} {str(location)!r} cannot be written: its folder does not exist or is not "
                "writable on the worker. Create the folder, or choose another path."
            )
        return
    bucket = location.path.split("/", 1)[0]
    try:
        if not location.fs.exists(bucket):
            raise FileNotFoundError(bucket)
    except Exception as err:
        raise storage_error(location, "written", err, field) from err


def manifest_location(value: Any, conn_id: str | None) -> Location:
    """
    Return where ``manifest_path`` says the manifest is, refused before any request unless it can
    be written there.

    :param value: a local path, an object-storage URL or an ``ObjectStoragePath``.
    :param conn_id: the connection of URLs given as text.
    """
    if value is None:
        raise InvalidParameterError(
            "manifest_path is None; give a file every worker sees, e.g. '/shared/faces-manifest.json' or "
            "'s3://bucket/faces-manifest.json'."
        )
    location = resolve(value, "manifest_path", conn_id)
    check_writable(location, "manifest_path")
    return location


def read_text_if_any(location: Location, field: str) -> str | None:
    """Return the text of a file or object, or ``None`` when there is none; other errors are named."""
    try:
        return location.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except Exception as err:
        raise storage_error(location, "read", err, field) from err
