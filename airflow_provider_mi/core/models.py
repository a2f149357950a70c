"""Typed results of the API and the upload state machine, kept as data."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class UploadStatus(StrEnum):
    """``result.uploadStatus`` of upload completion."""

    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class UploadFailureReason(StrEnum):
    """Documented values of ``result.uploadMessage`` when the status is ``FAILED``."""

    FILE_NOT_EXIST = "FILE_NOT_EXIST"
    OVER_SIZE_LIMIT = "OVER_SIZE_LIMIT"
    RESOLUTION_NOT_SUPPORT = "RESOLUTION_NOT_SUPPORT"


class UploadOutcome(StrEnum):
    """What a caller should do with one completion result."""

    COMPLETED = "completed"
    WAITING = "waiting"
    FAILED = "failed"


class UploadLanding(StrEnum):
    """What a ``PUT`` to a presigned URL tells of the bytes: the evidence for what to do next."""

    #: Storage acknowledged the bytes (HTTP 2xx).
    LANDED = "landed"
    #: An attempt's answer was lost, then the URL was refused or expired: it may have landed;
    #: completion tells.
    UNCERTAIN = "uncertain"
    #: The URL expired before any attempt could have landed: a new URL is needed.
    NOT_LANDED = "not_landed"


#: Failure reasons an upload can still recover from: nothing is visible under the key *yet*.
DEFAULT_WAITING_REASONS: frozenset[str] = frozenset({UploadFailureReason.FILE_NOT_EXIST.value})


@dataclass(frozen=True)
class UploadCompletion:
    """
    The answer of upload completion for one thumbnail key.

    :param thumbnail_key: the key that was completed.
    :param raw_status: ``uploadStatus`` exactly as the API sent it.
    :param reason: ``uploadMessage``, the failure reason (``None`` on success).
    """

    thumbnail_key: str
    raw_status: str
    reason: str | None = None

    @property
    def status(self) -> UploadStatus | None:
        """The status as an enum, or ``None`` if the API sent a status this provider does not know."""
        try:
            return UploadStatus(self.raw_status)
        except ValueError:
            return None

    def outcome(self, waiting_reasons: Collection[str] = DEFAULT_WAITING_REASONS) -> UploadOutcome:
        """
        Classify the result: completed, still waiting, or failed for good.

        An unknown status counts as waiting: a newer API may report intermediate states.

        :param waiting_reasons: failure reasons to treat as "not yet" rather than "never".
        """
        if self.status is UploadStatus.COMPLETED:
            return UploadOutcome.COMPLETED
        if self.status is UploadStatus.FAILED and self.reason not in waiting_reasons:
            return UploadOutcome.FAILED
        return UploadOutcome.WAITING

    def to_api_dict(self) -> dict[str, Any]:
        """Return the API's own result, ``{"uploadStatus": ..., "uploadMessage": ...}``."""
        return {"uploadStatus": self.raw_status, "uploadMessage": self.reason}

    def describe(self) -> str:
        """One line for logs and error messages."""
        text = f"thumbnail {self.thumbnail_key!r}: {self.raw_status}"
        return f"{text} ({self.reason})" if self.reason else text

    def failure_message(self) -> str:
        """Explain a permanent failure: what failed, why, and what to do."""
        return (
            f"Upload of thumbnail {self.thumbnail_key!r} failed for good: {self.reason or self.raw_status}. "
            "The API will not accept this file as it is; fix the image (jpg, png or webp, at most 5 MB, "
            "at least 256 px) and upload it again."
        )


@dataclass(frozen=True)
class PresignedUpload:
    """
    A presigned upload URL issued for one thumbnail.

    :param thumbnail_key: the key to complete the upload with.
    :param url: the one-time URL to ``PUT`` the image bytes to. It carries its own authorisation,
        so it is kept out of ``repr``.
    :param expiration_seconds: how long the URL stays valid, if the API said.
    :param issued_at: when the URL was received (``time.monotonic``).
    """

    thumbnail_key: str
    url: str
    expiration_seconds: int | None = None
    issued_at: float = field(default_factory=time.monotonic, compare=False)

    def age(self) -> float:
        """Seconds since the URL was received."""
        return time.monotonic() - self.issued_at

    def expired(self) -> bool:
        """Whether the URL is past the validity the API gave it (never, if it gave none)."""
        return self.expiration_seconds is not None and self.age() >= self.expiration_seconds

    def __repr__(self) -> str:
        return (
            f"PresignedUpload(thumbnail_key={self.thumbnail_key!r}, url='***', "
            f"expiration_seconds={self.expiration_seconds!r})"
        )


@dataclass(frozen=True)
class Workspace:
    """
    A workspace, as ``GET /api/v1/workspaces/{workspace_name}`` describes it.

    :param workspace_name: its name.
    :param workspace_url: its page, if the API gave one.
    :param bucket_name: the Object Storage bucket linked to it, if any.
    :param raw: the API's whole ``result``, fields this provider does not know included.
    """

    workspace_name: str
    workspace_url: str | None = None
    bucket_name: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)
