"""
Client-side rate limits: the limits, as data.

The API allows 1000 completion calls per minute and 50 presigned URLs per second. Every request
first takes a slot from the limiter of its endpoint (:mod:`airflow_provider_mi.core.limiter`),
so that a burst waits for its turn instead of drawing 429s.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Endpoints that have a rate limit of their own (names used by ``ApiRequest.endpoint``).
COMPLETE_UPLOAD = "complete_upload"
PRESIGNED_URL = "presigned_url"
#: Every person and person-tag endpoint together: NCP documents no limit for them.
PERSONS = "persons"


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


#: The documented limits (the presigned-URL one as the English and Korean docs give it), and a
#: conservative one for the person endpoints, whose limits are not documented.
DEFAULT_RATE_LIMITS: dict[str, RateLimit] = {
    COMPLETE_UPLOAD: RateLimit(1000, 60.0),
    PRESIGNED_URL: RateLimit(50, 1.0),
    PERSONS: RateLimit(10, 1.0),
}

#: The most calls per period a connection may set: a hundred times the API's limit is more than
#: any quota it grants, and each call allowed per period is a slot kept in memory.
MAX_CALLS: dict[str, int] = {endpoint: 100 * limit.calls for endpoint, limit in DEFAULT_RATE_LIMITS.items()}
