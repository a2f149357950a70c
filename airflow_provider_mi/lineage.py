"""
Lineage of the operators: OpenLineage datasets for what they read and write, and the extra of
the asset events they emit.

A workspace's persons and its person thumbnails are two datasets, in one namespace per API
host: ``ncp-media-intelligence://mi.apigw.ntruss.com``, names ``<workspace>/persons`` and
``<workspace>/person-thumbnails``. Local images are ``file://<worker host name>`` datasets named by
their absolute path (OpenLineage's naming of a file system seen from elsewhere); a path with a
scheme (``s3://bucket/key``) is ``<scheme>://<bucket>`` and the key.

Nothing here imports the OpenLineage provider at module level: the provider works without it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow.providers.common.compat.sdk import ObjectStoragePath

from airflow_provider_mi import storage

if TYPE_CHECKING:
    from airflow.providers.common.compat.openlineage.facet import Dataset

#: The scheme of the namespace of every workspace dataset.
NAMESPACE_SCHEME = "ncp-media-intelligence"
#: The datasets a workspace has, by the suffix of their name.
PERSONS = "persons"
PERSON_THUMBNAILS = "person-thumbnails"
#: How many keys, ids or names an asset event's extra lists at most (the rest are counted).
MAX_EXTRA_ITEMS = 100


def workspace_namespace(base_url: str) -> str:
    """``ncp-media-intelligence://<host[:port]>`` of the API at ``base_url``."""
    return f"{NAMESPACE_SCHEME}://{urlsplit(base_url).netloc}"


def hostname() -> str:
    """This worker's host name, as Airflow names it (``[core] hostname_callable``)."""
    try:
        from airflow.utils.net import get_hostname

        return get_hostname()
    except Exception:  # an odd hostname_callable must not cost the task its lineage
        return socket.getfqdn()


def source_location(source: str) -> tuple[str, str]:
    """
    Return the OpenLineage ``(namespace, name)`` of a file, folder or glob pattern the operator reads.

    A glob pattern stands for the folder it starts in: its part before the first wildcard.
    """
    if "://" in source:
        parts = urlsplit(source)
        return f"{parts.scheme}://{parts.netloc}", parts.path.lstrip("/") or "/"
    path = str(Path(source).expanduser().absolute())
    for index, char in enumerate(path):
        if char in "*?[":
            path = path[:index].rsplit("/", 1)[0] or "/"
            break
    return f"file://{hostname()}", path


def local_sources(source: Any) -> list[str]:
    """
    The paths an operator's ``source``/``sources``/``file_path`` names, for lineage: a path, a URL
    or an ``ObjectStoragePath``, a list of those, or a mapping of person name to files (then the
    folders holding those files).
    """
    if source is None:
        return []
    if isinstance(source, (str, os.PathLike)):
        shown = storage.display(source) if isinstance(source, ObjectStoragePath) else str(source)
        return [shown] if shown.strip() else []
    if isinstance(source, Mapping):
        files = [file for paths in source.values() for file in local_sources(list(paths))]
        return sorted({file.rsplit("/", 1)[0] or "/" for file in files})
    return [shown for item in source for shown in local_sources(item)]


def datasets(
    base_url: str, workspace: str, kinds: Iterable[str], sources: Iterable[str] = ()
) -> list[Dataset]:
    """Return the OpenLineage datasets of these sources, then of the workspace's ``kinds``."""
    from airflow.providers.common.compat.openlineage.facet import Dataset

    found: dict[tuple[str, str], None] = dict.fromkeys(source_location(source) for source in sources)
    namespace = workspace_namespace(base_url)
    found.update(dict.fromkeys((namespace, f"{workspace}/{kind}") for kind in kinds))
    return [Dataset(namespace=namespace_, name=name) for namespace_, name in found]


def bounded(items: Sequence[Any], field: str) -> dict[str, Any]:
    """``{field: the first MAX_EXTRA_ITEMS items}``, with ``<field>Total`` when there were more."""
    listed = list(items)
    extra: dict[str, Any] = {field: listed[:MAX_EXTRA_ITEMS]}
    if len(listed) > MAX_EXTRA_ITEMS:
        extra[f"{field}Total"] = len(listed)
    return extra


def bounded_mapping(items: Mapping[str, Any], field: str) -> dict[str, Any]:
    """As :func:`bounded`, for a mapping (its first MAX_EXTRA_ITEMS entries, in order)."""
    extra: dict[str, Any] = {field: dict(list(items.items())[:MAX_EXTRA_ITEMS])}
    if len(items) > MAX_EXTRA_ITEMS:
        extra[f"{field}Total"] = len(items)
    return extra
