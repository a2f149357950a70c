"""
Rate limiters shared by every hook and trigger of a process, from ``pyrate-limiter``.

One limiter exists per endpoint, API host and access key, used from threads (the sync hook) and
from event loops (the async hook) alike. Asyncio waiters are served in order, one at a time, so
thousands of waiting triggers cost no busy loop. `pyrate-limiter
<https://pyratelimiter.readthedocs.io>`_ keeps the permits in an in-memory sliding-window bucket;
all buckets of the process share one bucket factory, hence one thread that forgets old permits.
This module imports it, so import this module lazily (DAG parsing never needs it).
"""

from __future__ import annotations

import threading
import time
from functools import cache

from pyrate_limiter import AbstractBucket, BucketFactory, InMemoryBucket, Limiter, Rate, RateItem

from airflow_provider_mi.core.rate_limit import RateLimit


class _BucketsByName(BucketFactory):
    """Route each permit to the bucket of its limiter's name."""

    def __init__(self) -> None:
        self.buckets: dict[str, AbstractBucket] = {}

    def add(self, name: str, bucket: AbstractBucket) -> None:
        self.buckets[name] = bucket
        self.schedule_leak(bucket)

    def wrap_item(self, name: str, weight: int = 1) -> RateItem:
        return RateItem(name, self.buckets[name].now(), weight=weight)

    def get(self, item: RateItem) -> AbstractBucket:
        return self.buckets[item.name]


@cache
def _buckets() -> _BucketsByName:
    return _BucketsByName()


class SharedRateLimiter:
    """
    Permits for one endpoint's limit, for threads and event loops of one process.

    :param name: the limiter's name, unique in the process.
    :param limit: the limit to keep under.
    """

    def __init__(self, name: str, limit: RateLimit) -> None:
        self.name = name
        self.limit = limit
        calls, window_ms = limit.client_window()
        buckets = _buckets()
        buckets.add(name, InMemoryBucket([Rate(calls, window_ms)]))
        # buffer_ms: pyrate's extra sleep after each wait; our window already has its margin.
        self._limiter = Limiter(buckets, buffer_ms=1)

    def acquire(self) -> float:
        """Block until a call may be made; return the seconds waited."""
        start = time.monotonic()
        self._limiter.try_acquire(self.name)
        return time.monotonic() - start

    async def acquire_async(self) -> float:
        """Wait, without blocking the event loop, until a call may be made; return the seconds waited."""
        start = time.monotonic()
        await self._limiter.try_acquire_async(self.name)
        return time.monotonic() - start


_limiters: dict[str, SharedRateLimiter] = {}
_limiters_lock = threading.Lock()


def shared_limiter(endpoint: str, limit: RateLimit, *, base_url: str, access_key: str) -> SharedRateLimiter:
    """
    Return this process's limiter for one endpoint of one API host and access key.

    Hooks and triggers that use the same credentials against the same host share it, so their
    calls add up against the one quota the API keeps for them.

    :param endpoint: the endpoint's name, e.g. ``complete_upload``.
    :param limit: the limit configured for it (a different limit gets a limiter of its own).
    :param base_url: the API base URL.
    :param access_key: the access key ID the calls are signed with.
    """
    name = f"{endpoint} {base_url} {access_key} {limit.calls}/{limit.period_seconds!r}"
    limiter = _limiters.get(name)
    if limiter is None:
        with _limiters_lock:
            limiter = _limiters.get(name) or _limiters.setdefault(name, SharedRateLimiter(name, limit))
    return limiter
