"""
What a resumed bulk upload has to do, decided from its files and its manifest. Airflow-free and
free of I/O: the operator (:mod:`airflow_provider_mi.operators.bulk_upload`) reads the files and
carries the plan out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from airflow_provider_mi.core.manifest import FileRecord, Manifest


@dataclass
class BulkPlan:
    """
    What each file of a bulk upload needs, by its path (or URL) as the manifest knows it.

    :param done: completed in an earlier run, under a key still valid: nothing to send.
    :param refused: refused for good by the API in an earlier run, same content: not sent again.
    :param check: given a key in an earlier run, still valid, not known to be completed: ask completion.
    :param upload: new, changed, or whose key has expired: upload.
    :param expired: how many of ``upload`` had completed under a key that has expired since.
    """

    done: dict[str, FileRecord] = field(default_factory=dict)
    refused: dict[str, FileRecord] = field(default_factory=dict)
    check: dict[str, FileRecord] = field(default_factory=dict)
    upload: list[str] = field(default_factory=list)
    expired: int = 0


def plan_bulk(
    manifest: Manifest, files: Sequence[str], now: float, fingerprint: Callable[[str], str]
) -> BulkPlan:
    """
    Decide what each file needs.

    :param manifest: the bulk upload's manifest.
    :param files: the files' paths or URLs, as the manifest keys them.
    :param now: the time (``time.time()``), to tell usable keys from expired ones.
    :param fingerprint: a file's fingerprint now; asked only of files the manifest knows.
    """
    plan = BulkPlan()
    for file in files:
        record = manifest.files.get(file)
        if record is None or record.fingerprint != fingerprint(file):
            plan.upload.append(file)
        elif record.refused is not None:
            plan.refused[file] = record
        elif record.reusable_key(now) is None:
            plan.upload.append(file)
            plan.expired += record.completed
        elif record.completed:
            plan.done[file] = record
        else:
            plan.check[file] = record
    return plan
