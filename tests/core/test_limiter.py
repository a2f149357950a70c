"""The shared limiters: permits from threads and event loops, in order, within the limit."""

from __future__ import annotations

import asyncio
import bisect
import threading
import time

from airflow_provider_mi.core.limiter import SharedRateLimiter, shared_limiter
from airflow_provider_mi.core.rate_limit import RateLimit

#: Small enough for a short test: 1 call per 51 ms windows, at most 10 in any 0.5 s.
LIMIT = RateLimit(10, 0.5)


def most_in_any_period(grants: list[float], period: float) -> int:
    grants = sorted(grants)
    return max(bisect.bisect_left(grants, start + period) - i for i, start in enumerate(grants))


def test_threads_and_an_event_loop_share_one_limit():
    limiter = SharedRateLimiter("test threads and loop", LIMIT)
    grants: list[float] = []

    def take(times: int) -> None:
        for _ in range(times):
            limiter.acquire()
            grants.append(time.monotonic())

    async def take_async(times: int) -> None:
        async def one() -> None:
            await limiter.acquire_async()
            grants.append(time.monotonic())

        await asyncio.gather(*(one() for _ in range(times)))

    threads = [threading.Thread(target=take, args=(5,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    asyncio.run(take_async(10))
    for thread in threads:
        thread.join()
    assert len(grants) == 20
    assert most_in_any_period(grants, LIMIT.period_seconds) <= LIMIT.calls


def test_async_waiters_are_served_in_order():
    limiter = SharedRateLimiter("test order", LIMIT)
    served: list[int] = []

    async def wait(number: int) -> None:
        await limiter.acquire_async()
        served.append(number)

    async def main() -> None:
        await asyncio.gather(*(wait(number) for number in range(15)))

    asyncio.run(main())
    assert served == list(range(15))


def test_acquire_reports_the_wait():
    limiter = SharedRateLimiter("test wait", RateLimit(1, 0.2))
    assert limiter.acquire() < 0.2  # the first permit is free
    assert limiter.acquire() > 0.1  # the second waits for the window (0.204 s) to pass


def test_shared_limiter_is_one_per_endpoint_host_key_and_limit():
    first = shared_limiter("complete_upload", LIMIT, base_url="http://127.0.0.1:9", access_key="a")
    assert shared_limiter("complete_upload", LIMIT, base_url="http://127.0.0.1:9", access_key="a") is first
    others = [
        shared_limiter("presigned_url", LIMIT, base_url="http://127.0.0.1:9", access_key="a"),
        shared_limiter("complete_upload", LIMIT, base_url="http://127.0.0.1:8", access_key="a"),
        shared_limiter("complete_upload", LIMIT, base_url="http://127.0.0.1:9", access_key="b"),
        shared_limiter("complete_upload", RateLimit(20, 0.5), base_url="http://127.0.0.1:9", access_key="a"),
    ]
    assert len({id(first), *map(id, others)}) == 5
