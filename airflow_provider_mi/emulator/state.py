"""The emulator's memory: credentials, workspaces, pending uploads, stored thumbnails, faults, log."""

from __future__ import annotations

import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Literal

DEFAULT_ACCESS_KEY = "emulator-access-key"
DEFAULT_SECRET_KEY = "emulator-secret-key"
#: Presigned URLs are valid this long, as the API documents.
URL_TTL_SECONDS = 900


@dataclass(frozen=True)
class Fault:
    """
    A scripted answer that replaces the normal one for one request.

    :mod:`airflow_provider_mi.emulator.faults` builds the catalogue's faults by name.

    :param status: HTTP status to answer; ``None`` answers normally (a gap in a scripted sequence,
        or a normal answer sent slowly or cut short).
    :param body: raw body to send.
    :param headers: extra headers, e.g. ``Retry-After``.
    :param delay: seconds to wait before sending the answer.
    :param retry_after_date: send ``Retry-After`` as an HTTP date this many seconds after the answer.
    :param drop: close the connection midway through the answer's ``"headers"`` (a reset) or its
        ``"body"`` (a truncated body, shorter than its ``Content-Length``).
    :param name: what the fault is, logged with the request (e.g. ``503``, ``reset``).
    """

    status: int | None
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()
    delay: float = 0.0
    retry_after_date: float | None = None
    drop: Literal["headers", "body"] | None = None
    name: str | None = None


@dataclass(frozen=True)
class RecordedRequest:
    """
    One request the emulator received.

    :param endpoint: ``presigned-url``, ``complete``, ``storage`` or ``other``.
    :param status: the HTTP status answered (or begun, if a fault dropped the connection).
    :param thumbnail_key: the key the request was about, once known.
    :param signature: the ``x-ncp-apigw-signature-v2`` header received, if any.
    :param fault: the name of the scripted fault that answered, if any.
    """

    method: str
    endpoint: str
    path: str
    status: int
    thumbnail_key: str | None = None
    signature: str | None = None
    fault: str | None = None


@dataclass
class _PendingUpload:
    workspace: str
    thumbnail_key: str
    expires_at: float
    used: bool = False


@dataclass
class _StoredThumbnail:
    data: bytes
    visible_at: float
    hidden_checks: int = 0


@dataclass
class EmulatorState:
    """
    Everything the emulator knows; safe to read and change from the test's thread.

    :param credentials: access key -> secret key of the accounts the gateway accepts.
    :param workspaces: workspaces that exist, or ``None`` to accept any valid name.
    :param visibility_delay: seconds after an upload before completion can see it.
    :param clock_offset: seconds the emulator's clock is ahead of the real one (to emulate skew).
    """

    credentials: dict[str, str] = field(default_factory=lambda: {DEFAULT_ACCESS_KEY: DEFAULT_SECRET_KEY})
    workspaces: set[str] | None = None
    visibility_delay: float = 0.0
    clock_offset: float = 0.0
    url_ttl: float = URL_TTL_SECONDS
    requests: list[RecordedRequest] = field(default_factory=list)
    _uploads: dict[str, _PendingUpload] = field(default_factory=dict)
    _thumbnails: dict[tuple[str, str], _StoredThumbnail] = field(default_factory=dict)
    _faults: dict[tuple[str, str | None], deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        """The emulator's clock (Unix seconds)."""
        return time.time() + self.clock_offset

    def workspace_exists(self, workspace: str) -> bool:
        """Whether the workspace exists (any valid name does when ``workspaces`` is ``None``)."""
        return self.workspaces is None or workspace in self.workspaces

    def record(self, entry: RecordedRequest) -> None:
        """Append one request to the log."""
        with self._lock:
            self.requests.append(entry)

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        """Return the logged requests to one endpoint (``complete``, ``presigned-url``, ``storage``)."""
        with self._lock:
            return [entry for entry in self.requests if entry.endpoint == endpoint]

    def inject(self, endpoint: str, *faults: Fault, thumbnail_key: str | None = None) -> None:
        """
        Answer the next requests to ``endpoint`` with ``faults``, one each, before behaving again.

        :param endpoint: ``presigned-url``, ``complete`` or ``storage``.
        :param faults: the scripted answers, in order.
        :param thumbnail_key: only for completion requests of this key (else any request).
        """
        with self._lock:
            self._faults[(endpoint, thumbnail_key)].extend(faults)

    def next_fault(self, endpoint: str, thumbnail_key: str | None = None) -> Fault | None:
        """Pop the fault scripted for this request: one for its key first, else one for the endpoint."""
        with self._lock:
            for queue_key in ((endpoint, thumbnail_key), (endpoint, None)):
                queue = self._faults.get(queue_key)
                if queue:
                    return queue.popleft()
        return None

    def issue_upload(self, workspace: str, file_name: str) -> tuple[str, str]:
        """Create a one-time upload: return ``(token, thumbnail_key)``."""
        token = secrets.token_urlsafe(18)
        key = f"persons/thumbnails/{token[:10]}-{file_name}"
        with self._lock:
            self._uploads[token] = _PendingUpload(workspace, key, self.now() + self.url_ttl)
        return token, key

    def accept_upload(self, token: str, data: bytes) -> str | None:
        """Store ``data`` for a valid, unused, unexpired token; return why not, or ``None``."""
        with self._lock:
            upload = self._uploads.get(token)
            if upload is None:
                return "unknown upload URL"
            if upload.used:
                return "upload URL already used"
            if self.now() >= upload.expires_at:
                return "upload URL expired"
            upload.used = True
        self.store_thumbnail(upload.workspace, upload.thumbnail_key, data)
        return None

    def store_thumbnail(
        self,
        workspace: str,
        thumbnail_key: str,
        data: bytes,
        *,
        delay: float | None = None,
        hidden_checks: int = 0,
    ) -> None:
        """
        Put a thumbnail in storage, as an upload through a presigned URL does.

        :param delay: seconds before completion can see it (default: the visibility delay).
        :param hidden_checks: completion checks that still answer ``FILE_NOT_EXIST`` before it is
            seen, whatever the time: makes waiting deterministic in tests.
        """
        visible_at = self.now() + (self.visibility_delay if delay is None else delay)
        with self._lock:
            self._thumbnails[(workspace, thumbnail_key)] = _StoredThumbnail(data, visible_at, hidden_checks)

    def visible_thumbnail(self, workspace: str, thumbnail_key: str) -> bytes | None:
        """Return the thumbnail's bytes if completion can see it now (this counts as one check)."""
        with self._lock:
            stored = self._thumbnails.get((workspace, thumbnail_key))
            if stored is None or self.now() < stored.visible_at:
                return None
            if stored.hidden_checks > 0:
                stored.hidden_checks -= 1
                return None
            return stored.data
