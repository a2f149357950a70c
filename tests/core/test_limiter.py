"""The shared limiters: slots for threads and event loops, in order, counted from each answer."""

from __future__ import annotations

import asyncio
import bisect
import gc
import logging
import threading
import time

import pytest

from airflow_provider_mi.core.limiter import SharedRateLimiter, shared_limiter
from airflow_provider_mi.core.rate_limit import RateLimit

#: Small enough for a short test: at most 4 calls in any 0.3 s.
LIMIT = RateLimit(4, 0.3)


def most_in_any_period(times: list[float], period: float) -> int:
    times = sorted(times)
    return max(bisect.bisect_left(times, start + period) - i for i, start in enumerate(times))


def test_threads_and_an_event_loop_share_one_limit():
    limiter = SharedRateLimiter(LIMIT)
    starts: list[float] = []

    def call() -> None:
        with limiter.slot():
            starts.append(time.monotonic())
            time.sleep(0.01)

    def take(times: int) -> None:
        for _ in range(times):
            call()

    async def take_async(times: int) -> None:
        async def one() -> None:
            async with limiter.slot_async():
                starts.append(time.monotonic())
                await asyncio.sleep(0.01)

        await asyncio.gather(*(one() for _ in range(times)))

    threads = [threading.Thread(target=take, args=(4,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    asyncio.run(take_async(8))
    for thread in threads:
        thread.join()
    assert len(starts) == 16
    assert most_in_any_period(starts, LIMIT.period_seconds) <= LIMIT.calls


def test_a_slot_is_free_again_one_period_after_the_answer_not_the_permit():
    limiter = SharedRateLimiter(RateLimit(1, 0.2))
    with limiter.slot():
        time.sleep(0.3)  # a slow call: longer than the period
        answered = time.monotonic()
    with limiter.slot():
        assert time.monotonic() >= answered + 0.2


def test_async_waiters_are_served_in_order():
    limiter = SharedRateLimiter(RateLimit(2, 0.05))
    served: list[int] = []

    async def wait(number: int) -> None:
        async with limiter.slot_async():
            served.append(number)

    async def main() -> None:
        await asyncio.gather(*(wait(number) for number in range(12)))

    asyncio.run(main())
    assert served == list(range(12))


def test_the_wait_is_reported():
    limiter = SharedRateLimiter(RateLimit(1, 0.2))
    with limiter.slot() as waited:
        assert waited < 0.2  # the first slot is free at once
    with limiter.slot() as waited:
        assert waited > 0.1  # the second waits a period after the first call's answer


def test_a_failed_call_still_counts():
    limiter = SharedRateLimiter(RateLimit(1, 0.2))
    with pytest.raises(RuntimeError), limiter.slot():
        raise RuntimeError("the request failed after it was sent")
    with limiter.slot() as waited:
        assert waited > 0.1


def test_a_cancelled_waiter_loses_no_slot():
    limiter = SharedRateLimiter(RateLimit(1, 0.05))

    async def main() -> list[str]:
        done: list[str] = []
        holding, release = asyncio.Event(), asyncio.Event()

        async def holder() -> None:
            async with limiter.slot_async():
                holding.set()
                await release.wait()
            done.append("holder")

        async def waiter(name: str) -> None:
            async with limiter.slot_async():
                done.append(name)

        first = asyncio.create_task(holder())
        await holding.wait()
        cancelled = asyncio.create_task(waiter("cancelled"))
        later = asyncio.create_task(waiter("later"))
        await asyncio.sleep(0.01)
        cancelled.cancel()
        release.set()
        await asyncio.wait_for(asyncio.gather(first, later), timeout=5)
        assert cancelled.cancelled()
        # Both slots ever handed out are back: two more calls go through.
        await asyncio.wait_for(asyncio.gather(waiter("again-1"), waiter("again-2")), timeout=5)
        return done

    assert asyncio.run(main()) == ["holder", "later", "again-1", "again-2"]


def test_a_waiter_cancelled_before_its_call_gives_the_slot_back_unused():
    limiter = SharedRateLimiter(RateLimit(1, 30.0))

    async def main() -> float:
        async with limiter.slot_async():
            pass  # the only slot is now free in 30 s
        task = asyncio.create_task(limiter.slot_async().__aenter__())
        await asyncio.sleep(0.01)
        task.cancel()  # while it sleeps until the slot is free: the call was never made
        with pytest.raises(asyncio.CancelledError):
            await task
        return limiter._free_at[0] - time.monotonic()

    assert 29 < asyncio.run(main()) <= 30  # not pushed a further 30 s out


def test_a_waiter_whose_event_loop_closed_loses_no_slot():
    limiter = SharedRateLimiter(RateLimit(1, 0.01))

    async def wait_for_a_slot() -> None:
        async with limiter.slot_async():
            pass

    loop = asyncio.new_event_loop()
    with limiter.slot():  # the only slot is held: the loop's coroutine queues for it
        task = loop.create_task(wait_for_a_slot())
        loop.run_until_complete(asyncio.sleep(0.01))
        loop.close()  # without cancelling the task, as a loop torn down in a hurry does
    # The slot came back while the loop was closed; a thread must still get it.
    served = threading.Event()

    def take() -> None:
        with limiter.slot():
            served.set()

    threading.Thread(target=take, daemon=True).start()
    assert served.wait(timeout=5), "the slot was handed to a waiter that can never run"
    assert not task.done()


class User:
    """Stands for a connection's settings: what sets a limit, for as long as it lives."""


def test_shared_limiter_is_one_per_endpoint_host_and_key():
    user = User()
    first = shared_limiter("complete_upload", LIMIT, base_url="http://127.0.0.1:9", access_key="a", user=user)
    same = shared_limiter(
        "complete_upload", LIMIT, base_url="http://127.0.0.1:9", access_key="a", user=User()
    )
    others = [
        shared_limiter("presigned_url", LIMIT, base_url="http://127.0.0.1:9", access_key="a", user=user),
        shared_limiter("complete_upload", LIMIT, base_url="http://127.0.0.1:8", access_key="a", user=user),
        shared_limiter("complete_upload", LIMIT, base_url="http://127.0.0.1:9", access_key="b", user=user),
    ]
    assert same is first
    assert len({id(first), *map(id, others)}) == 4


def test_connections_that_disagree_on_the_limit_share_the_stricter_one(caplog):
    # Two connections, one key and host: 3 and 5 calls per period. Together they must stay
    # under 3, from threads and an event loop alike.
    base_url, key = "http://127.0.0.1:7", "shared-key"
    lenient_user, strict_user = User(), User()

    def limiter_of(user: User, calls: int) -> SharedRateLimiter:
        return shared_limiter(
            "complete_upload", RateLimit(calls, 0.3), base_url=base_url, access_key=key, user=user
        )

    lenient = limiter_of(lenient_user, 5)
    with caplog.at_level(logging.WARNING, logger="airflow_provider_mi.core.limiter"):
        strict = limiter_of(strict_user, 3)
        for user, calls in ((strict_user, 3), (lenient_user, 5), (User(), 3), (User(), 5)):
            assert limiter_of(user, calls) is strict
    assert strict is lenient
    assert strict.limit == RateLimit(3, 0.3)
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1  # once, not at every call
    assert "shared-key" in warnings[0]
    assert "3 calls per 0.3 s here, 5 calls per 0.3 s already in force" in warnings[0]
    assert "The stricter, 3 calls per 0.3 s, applies" in warnings[0]

    starts: list[float] = []

    def call() -> None:
        with strict.slot():
            starts.append(time.monotonic())

    async def calls_async() -> None:
        async def one() -> None:
            async with lenient.slot_async():
                starts.append(time.monotonic())

        await asyncio.gather(*(one() for _ in range(6)))

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    asyncio.run(calls_async())
    for thread in threads:
        thread.join()
    assert len(starts) == 12
    assert most_in_any_period(starts, 0.3) <= 3


def test_the_stricter_limit_ends_with_the_last_connection_that_sets_it():
    base_url = "http://127.0.0.1:6"
    lenient_user, strict_user = User(), User()
    limiter = shared_limiter(
        "complete_upload", RateLimit(5, 0.3), base_url=base_url, access_key="k", user=lenient_user
    )
    shared_limiter("complete_upload", RateLimit(2, 0.3), base_url=base_url, access_key="k", user=strict_user)
    assert (limiter.limit, len(limiter._free_at)) == (RateLimit(2, 0.3), 2)

    del strict_user
    gc.collect()
    shared_limiter("complete_upload", RateLimit(5, 0.3), base_url=base_url, access_key="k", user=lenient_user)

    assert (limiter.limit, len(limiter._free_at)) == (RateLimit(5, 0.3), 5)


def test_a_lower_limit_retires_slots_in_use_when_they_come_back():
    limiter = SharedRateLimiter(RateLimit(3, 0.2))
    lenient_user, strict_user = User(), User()
    limiter.join(lenient_user, RateLimit(3, 0.2))
    with limiter.slot(), limiter.slot():  # two of three slots in use, one free
        limiter.join(strict_user, RateLimit(1, 0.2))
        assert limiter._free_at == []
    assert len(limiter._free_at) == 1  # one slot is left, not three


def test_a_raised_limit_wakes_the_waiters():
    limiter = SharedRateLimiter(RateLimit(1, 30.0))
    strict_user, lenient_user = User(), User()
    limiter.join(strict_user, RateLimit(1, 30.0))
    served = threading.Event()

    def wait_for_a_slot() -> None:
        with limiter.slot():
            served.set()

    with limiter.slot():  # the only slot, free again 30 s after this call
        waiter = threading.Thread(target=wait_for_a_slot, daemon=True)
        waiter.start()
        limiter.join(lenient_user, RateLimit(2, 30.0))
        assert not served.wait(timeout=0.2)  # the strict connection still lives: still 1 slot
        del strict_user
        gc.collect()
        limiter.join(lenient_user, RateLimit(2, 30.0))
        assert served.wait(timeout=5), "the slot added by the higher limit went to nobody"


def test_a_new_connection_may_take_the_id_of_one_collected():
    limiter = SharedRateLimiter(RateLimit(2, 0.3))
    user = User()
    # As CPython leaves it when a user is collected and the next one gets its memory (and id)
    # before the departure was seen: the old entry, and its departure pending.
    limiter._users[id(user)] = RateLimit(1, 0.3)
    limiter._departed.append(id(user))

    limiter.join(user, RateLimit(2, 0.3))

    assert limiter.limit == RateLimit(2, 0.3)
    assert limiter._users == {id(user): RateLimit(2, 0.3)}
    del user
    gc.collect()
    assert list(limiter._departed) != []  # the new user got a finalizer of its own
