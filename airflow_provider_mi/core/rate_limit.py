"""
Client-side rate limits: the limits, as data.

The API allows 1000 completion calls per minute and 50 presigned URLs per second. Every request
first takes a permit from the limiter of its endpoint, so that a burst waits for its turn instead
of drawing 429s.

A limit of ``calls`` per ``period`` is enforced as a tenth of the calls per a tenth of the period
(at most that many in *any* such window, so never more than ``calls`` per ``period``), stretched by
:data:`SAFETY_MARGIN`: the rate is the same, but the API never sees the whole minute's quota
arrive as one burst, whose tail the network could reorder into a 429. The limiters themselves
are in :mod:`airflow_provider_mi.core.limiter`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: Endpoints that have a rate limit of their own (names used by ``ApiRequest.endpoint``).
COMPLETE_UPLOAD = "complete_upload"
PRESIGNED_URL = "presigned_url"

#: How much longer than the API's window the client's window is, to absorb network jitter.
SAFETY_MARGIN = 0.02
#: Into how many windows a limit is split (so bursts are a tenth of the quota at most).
WINDOW_SPLIT = 10


@dataclass(frozen=True)
class RateLimit:
    """
    At most ``calls`` requests in any ``period_seconds``.

    :param calls: the number of calls allowed per period.
    :param period_seconds: the period, in seconds.
    """

    calls: int
    period_seconds: float

    def describe(self) -> str:
        """Say the limit in words, e.g. ``1000 calls per 60 s``."""
        return f"{self.calls} calls per {self.period_seconds:g} s"

    def client_window(self) -> tuple[int, int]:
        """Return the ``(calls, milliseconds)`` window the client enforces for this limit."""
        calls = self.calls // min(WINDOW_SPLIT, self.calls)
        # Any period is cut into `windows` such windows, each holding `calls` at most.
        windows = self.calls // calls
        return calls, math.ceil(self.period_seconds * 1000 / windows * (1 + SAFETY_MARGIN))


#: The documented limits (the presigned-URL one as the English and Korean docs give it).
DEFAULT_RATE_LIMITS: dict[str, RateLimit] = {
    COMPLETE_UPLOAD: RateLimit(1000, 60.0),
    PRESIGNED_URL: RateLimit(50, 1.0),
}
