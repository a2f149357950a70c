"""
The emulator's memory: credentials, workspaces, pending uploads, stored thumbnails, persons and
tags (:mod:`.persons`), faults, log, the gateway's throttle and the clock.
"""

from __future__ import annotations

import functools
import math
import secrets
import struct
import threading
import time
import zlib
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from airflow_provider_mi.emulator.persons import Person, PersonBook, Tag
from airflow_provider_mi.emulator.rules import MIN_IMAGE_SIDE

DEFAULT_ACCESS_KEY = "emulator-access-key"
DEFAULT_SECRET_KEY = "emulator-secret-key"
#: Presigned URLs are valid this long, as the API documents.
URL_TTL_SECONDS = 900
#: The person and tag endpoints that change something (search and compare are POSTs that only read).
WRITE_ENDPOINTS = (
    "create-person",
    "update-person",
    "delete-person",
    "merge-persons",
    "add-thumbnails",
    "remove-thumbnails",
    "create-tag",
    "delete-tag",
    "add-tags",
    "remove-tags",
)
#: The person and tag endpoints, as the request log, faults and rate limits name them.
PERSON_ENDPOINTS = (
    *WRITE_ENDPOINTS,
    "get-person",
    "list-persons",
    "search-persons",
    "compare",
    "similar",
    "list-tags",
)
#: The API's endpoints behind the gateway's signature check: the ones it can throttle.
SIGNED_ENDPOINTS = ("presigned-url", "complete", "workspace", *PERSON_ENDPOINTS)
#: Every endpoint, as the request log and :meth:`EmulatorState.stats` name them.
ENDPOINTS = (*SIGNED_ENDPOINTS, "storage")


def check_rate_limit(endpoint: str, calls: Any, period: Any) -> tuple[str, tuple[int, float]]:
    """
    Return ``(endpoint, (calls, period))`` checked, the endpoint's name normalised, or raise ``ValueError``.

    :param endpoint: one of :data:`SIGNED_ENDPOINTS`, e.g. ``presigned-url`` (or ``presigned_url``).
    :param calls: how many calls the window admits: a positive whole number.
    :param period: the window's length in seconds: a positive finite number.
    """
    name = endpoint.strip().replace("_", "-")
    if name not in SIGNED_ENDPOINTS:
        raise ValueError(f"cannot rate-limit {endpoint!r}; use one of {list(SIGNED_ENDPOINTS)}")
    if isinstance(calls, bool) or not isinstance(calls, int) or calls < 1:
        raise ValueError(f"calls must be a positive whole number, got {calls!r}")
    if isinstance(period, bool) or not isinstance(period, (int, float)) or not 0 < period < math.inf:
        raise ValueError(f"the period must be a positive number of seconds, got {period!r}")
    return name, (calls, float(period))


def parse_rate_limit(spec: str) -> tuple[str, tuple[int, float]]:
    """
    Read one ``ENDPOINT=CALLS/SECONDS`` rate limit, e.g. ``complete=1000/60``.

    :param spec: the text, as given to ``--rate-limit``.
    """
    endpoint, has_equals, limit = spec.partition("=")
    calls, has_slash, period = limit.partition("/")
    if not (has_equals and has_slash):
        raise ValueError(f"{spec!r} is not ENDPOINT=CALLS/SECONDS, e.g. complete=1000/60")
    if not calls.strip().isdecimal():
        raise ValueError(f"{spec!r}: calls must be a positive whole number, got {calls!r}")
    try:
        seconds = float(period)
    except ValueError:
        raise ValueError(f"{spec!r}: the period must be a number of seconds, got {period!r}") from None
    try:
        return check_rate_limit(endpoint, int(calls), seconds)
    except ValueError as err:
        raise ValueError(f"{spec!r}: {err}") from None


@functools.cache
def valid_thumbnail() -> bytes:
    """A grey 256x256 PNG that completion accepts: what :meth:`EmulatorState.store_thumbnails` stores."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    side = MIN_IMAGE_SIDE
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale, no interlace
    rows = (b"\0" + b"\x80" * side) * side  # each row: filter type 0, then its pixels
    png = chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + png


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

    :param endpoint: one of :data:`ENDPOINTS` (e.g. ``complete``, ``create-person``), or ``other``
        for a request no route knows.
    :param status: the HTTP status answered (or begun, if a fault dropped the connection).
    :param thumbnail_key: the key the request was about, once known (an upload's: its URL's key).
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
    #: When it was uploaded (the API's clock): thumbnail keys expire 24 hours later.
    stored_at: float
    hidden_checks: int = 0


@dataclass
class EmulatorState:
    """
    Everything the emulator knows; safe to read and change from the test's thread.

    :param credentials: access key -> secret key of the accounts the gateway accepts.
    :param workspaces: workspaces that exist, or ``None`` to accept any valid name.
    :param visibility_delay: seconds after an upload before completion can see it.
    :param clock_offset: seconds the emulator's clock is ahead of the real one (to emulate skew): the
        gateway checks timestamps against it. :meth:`advance` moves the API's clock alone.
    :param url_ttl: seconds a presigned URL stays valid.
    :param rate_limits: endpoint (one of :data:`SIGNED_ENDPOINTS`, e.g. ``complete`` or
        ``create-person``; ``presigned_url`` is also accepted) -> ``(calls, period_seconds)``: the
        gateway's throttle, which answers 429 to a call when ``calls`` calls were admitted in the
        last ``period_seconds``. None by default.
    :param latency_seconds: extra delay before answering each request (all endpoints), as a
        distant API has.
    """

    credentials: dict[str, str] = field(default_factory=lambda: {DEFAULT_ACCESS_KEY: DEFAULT_SECRET_KEY})
    workspaces: set[str] | None = None
    visibility_delay: float = 0.0
    clock_offset: float = 0.0
    url_ttl: float = URL_TTL_SECONDS
    rate_limits: Mapping[str, tuple[int, float]] = field(default_factory=dict)
    latency_seconds: float = 0.0
    requests: list[RecordedRequest] = field(default_factory=list)
    _uploads: dict[str, _PendingUpload] = field(default_factory=dict)
    _thumbnails: dict[tuple[str, str], _StoredThumbnail] = field(default_factory=dict)
    _faults: dict[tuple[str, str | None], deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: Per endpoint: when (``time.monotonic``) the calls still in its rate-limit window were admitted.
    _windows: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    _admitted: Counter[str] = field(default_factory=Counter)
    _throttled: Counter[str] = field(default_factory=Counter)
    #: Seconds :meth:`advance` moved the API's clock.
    _advanced: float = 0.0
    #: When the state was made, on the emulator's clock: the creation time every workspace reports.
    created_at: float = field(init=False)
    #: The persons and tags of every workspace.
    people: PersonBook = field(init=False)

    def __post_init__(self) -> None:
        self.created_at = self.now()
        self.people = PersonBook(self.now, self.uploaded_thumbnail)
        self.rate_limits = dict(check_rate_limit(name, *limit) for name, limit in self.rate_limits.items())
        if not 0 <= self.latency_seconds < math.inf:
            raise ValueError(f"latency_seconds must be a non-negative number, got {self.latency_seconds!r}")

    def now(self) -> float:
        """The API's clock (Unix seconds): the gateway's, plus the time :meth:`advance` moved it on."""
        return self.gateway_now() + self._advanced

    def gateway_now(self) -> float:
        """The gateway's clock, which signatures' timestamps are checked against: ``clock_offset`` ahead."""
        return time.time() + self.clock_offset

    def advance(self, seconds: float) -> float:
        """
        Move the API's clock on (uploads age, URLs and thumbnail keys expire); return the total so far.

        The gateway's clock stays, so that clients signing with the real time are still accepted.

        :param seconds: a non-negative number of seconds.
        """
        if not 0 <= seconds < math.inf:
            raise ValueError(f"seconds must be a non-negative number, got {seconds!r}")
        with self._lock:
            self._advanced += seconds
            return self._advanced

    def workspace_exists(self, workspace: str) -> bool:
        """Whether the workspace exists (any valid name does when ``workspaces`` is ``None``)."""
        return self.workspaces is None or workspace in self.workspaces

    def record(self, entry: RecordedRequest) -> None:
        """Append one request to the log."""
        with self._lock:
            self.requests.append(entry)

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        """Return the logged requests to one endpoint: ``complete``, ``presigned-url``, ``workspace``..."""
        with self._lock:
            return [entry for entry in self.requests if entry.endpoint == endpoint]

    def write_requests(self) -> list[RecordedRequest]:
        """
        Return the logged requests that could change persons or tags, whatever they were answered.

        Those to :data:`WRITE_ENDPOINTS`, and those to no known route unless they are GETs: a proof
        that nothing was written must not miss a write sent to a wrong path.
        """
        with self._lock:
            return [
                entry
                for entry in self.requests
                if entry.endpoint in WRITE_ENDPOINTS or (entry.endpoint == "other" and entry.method != "GET")
            ]

    def persons(self, workspace: str) -> list[Person]:
        """Return the workspace's persons now, by id (snapshots: they do not change afterwards)."""
        return self.people.persons(workspace)

    def tags(self, workspace: str) -> list[Tag]:
        """Return the workspace's person tags now, by id."""
        return self.people.tags(workspace)

    def inject(self, endpoint: str, *faults: Fault, thumbnail_key: str | None = None) -> None:
        """
        Answer the next requests to ``endpoint`` with ``faults``, one each, before behaving again.

        :param endpoint: one of :data:`ENDPOINTS`, e.g. ``complete`` or ``create-person``.
        :param faults: the scripted answers, in order.
        :param thumbnail_key: only for requests about this key (completions, uploads to its URL).
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

    def upload_key(self, token: str) -> str | None:
        """Return the thumbnail key a presigned URL's token was issued for, if it was."""
        with self._lock:
            upload = self._uploads.get(token)
        return None if upload is None else upload.thumbnail_key

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
        now = self.now()
        visible_at = now + (self.visibility_delay if delay is None else delay)
        with self._lock:
            self._thumbnails[(workspace, thumbnail_key)] = _StoredThumbnail(
                data, visible_at, now, hidden_checks
            )

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

    def uploaded_thumbnail(self, workspace: str, thumbnail_key: str) -> tuple[bytes, float] | None:
        """
        Return ``(bytes, upload time)`` of a stored thumbnail completion would see now, else ``None``.

        Unlike :meth:`visible_thumbnail` it counts no check: persons and compare use it.
        """
        with self._lock:
            stored = self._thumbnails.get((workspace, thumbnail_key))
            if stored is None or self.now() < stored.visible_at or stored.hidden_checks > 0:
                return None
            return stored.data, stored.stored_at

    def admit(self, endpoint: str) -> float | None:
        """
        Let one request through the gateway's throttle (a strict sliding-window log), or refuse it.

        A call is refused when ``calls`` calls of the endpoint were admitted in the last
        ``period`` seconds of its rate limit; refused calls do not count. Endpoints without a
        limit admit every call. Admitted and refused calls are counted for :meth:`stats`.

        :param endpoint: one of :data:`ENDPOINTS`.
        :return: ``None`` if admitted, else the seconds until the oldest admitted call leaves the window.
        """
        limit = self.rate_limits.get(endpoint)
        now = time.monotonic()
        with self._lock:
            if limit is not None:
                calls, period = limit
                window = self._windows[endpoint]
                while window and window[0] + period <= now:
                    window.popleft()
                if len(window) >= calls:
                    self._throttled[endpoint] += 1
                    return window[0] + period - now
                window.append(now)
            self._admitted[endpoint] += 1
        return None

    def stats(self) -> dict[str, Any]:
        """
        Return ``{"admitted": {endpoint: n}, "throttled": {endpoint: n}, "requests": n}``.

        ``admitted`` counts the calls the gateway let through to the API (or storage),
        ``throttled`` the 429 answers of the rate limits, ``requests`` the API requests received
        (the request log's length; the emulator's own ``/_emulator/`` routes are not in it).
        """
        with self._lock:
            return {
                "admitted": {name: self._admitted[name] for name in ENDPOINTS},
                "throttled": {name: self._throttled[name] for name in SIGNED_ENDPOINTS},
                "requests": len(self.requests),
            }

    def make_all_visible(self) -> int:
        """
        Make every stored thumbnail that completion cannot see yet visible now; return how many.

        It ends their visibility delays and their ``hidden_checks`` at once, e.g. to flip many
        waiting keys to ``COMPLETED`` at one moment.
        """
        now, count = self.now(), 0
        with self._lock:
            for stored in self._thumbnails.values():
                if now < stored.visible_at or stored.hidden_checks > 0:
                    stored.visible_at, stored.hidden_checks = min(stored.visible_at, now), 0
                    count += 1
        return count

    def thumbnail_keys(self, workspace: str) -> list[str]:
        """Return the keys of the thumbnails stored in ``workspace``, visible or not, sorted."""
        with self._lock:
            return sorted(key for stored_in, key in self._thumbnails if stored_in == workspace)

    def store_thumbnails(self, workspace: str, thumbnail_keys: Iterable[str], *, visible: bool = True) -> int:
        """
        Store a valid thumbnail (:func:`valid_thumbnail`) under each key, without an upload; return how many.

        :param workspace: the workspace the keys belong to.
        :param thumbnail_keys: the keys.
        :param visible: whether completion sees them at once; if not, they stay hidden (completion
            answers ``FILE_NOT_EXIST``) until :meth:`make_all_visible`.
        """
        data, count, now = valid_thumbnail(), 0, self.now()
        visible_at = now if visible else math.inf
        with self._lock:
            for key in thumbnail_keys:
                self._thumbnails[(workspace, key)] = _StoredThumbnail(data, visible_at, now)
                count += 1
        return count
