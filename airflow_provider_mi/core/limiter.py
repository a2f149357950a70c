"""
Rate limiters shared by every hook and trigger of a process.

A limit of N calls per period is kept as N *slots*: a call holds one while it is in flight, and the
slot is free again one period after the call's answer came back. Two calls on the same slot thus
reach the API at least a period apart, and any N + 1 calls include two on the same slot, so the
API never sees more than N calls in any period, however long the network or a busy event loop
delays a request after its permit. Waiters get slots in the order they asked, threads and
coroutines alike, and sleep until theirs is free: no polling.

Why not a library: pyrate-limiter (the best kept one for threads and asyncio together) counts a
call from the moment its permit is granted, so a request that reaches the API late lets the call a
window later arrive less than a period after it: the benchmarks measured 429s from exactly that
(and, in its blocking sync path, permits recorded up to 164 ms before they were granted). It has
no way to count a call from its answer.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
)
from typing import Protocol

from airflow_provider_mi.core.rate_limit import RateLimit


class RateLimiter(Protocol):
    """What a request needs of a limiter: this process's own, or one shared through Redis."""

    @property
    def limit(self) -> RateLimit:
        """The limit this process's connection sets."""
        ...

    def slot(self) -> AbstractContextManager[float]:
        """Hold a slot for one call, blocking until it may be made; yields the seconds waited."""
        ...

    def slot_async(self) -> AbstractAsyncContextManager[float]:
        """Hold a slot for one call, waiting without blocking the loop; yields the seconds waited."""
        ...


class _Waiter:
    """One thread or coroutine waiting for a slot to be handed to it."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None) -> None:
        self.free_at: float | None = None  # set, under the limiter's lock, when a slot is handed over
        self.abandoned = False
        self._loop = loop
        self._event = threading.Event() if loop is None else None
        self._future: asyncio.Future[None] | None = None if loop is None else loop.create_future()

    def hand(self, free_at: float) -> bool:
        """Hand a slot over; ``False`` if the waiter's event loop is closed and can never take it."""
        self.free_at = free_at
        if self._event is not None:
            self._event.set()
            return True
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self._wake)
        except RuntimeError:  # the loop is closed: its coroutine will never run again
            self.free_at = None
            return False
        return True

    def _wake(self) -> None:
        if self._future is not None and not self._future.done():
            self._future.set_result(None)

    def wait(self) -> None:
        assert self._event is not None
        self._event.wait()

    async def wait_async(self) -> None:
        assert self._future is not None
        await self._future


class SharedRateLimiter:
    """
    Slots for one endpoint's limit, for the threads and event loops of one process.

    :param limit: the limit to keep under.
    """

    def __init__(self, limit: RateLimit) -> None:
        self.limit = limit
        self._free_at = [0.0] * limit.calls  # a heap of when each free slot may be used (monotonic)
        self._waiters: deque[_Waiter] = deque()
        self._to_retire = 0  # slots in use to drop when given back, after the limit was lowered
        self._users: dict[int, RateLimit] = {}  # the limit each live user sets, by the user's id
        self._departed: deque[int] = deque()  # users since garbage collected: finalizers take no lock
        self._limits_met = {limit}
        self._lock = threading.Lock()

    def join(self, user: object, limit: RateLimit) -> tuple[RateLimit, RateLimit] | None:
        """
        Count the limit ``user`` sets while ``user`` lives: the strictest limit of the live users applies.

        :param user: what sets the limit (a connection's settings), forgotten once garbage collected.
        :param limit: the limit it sets.
        :return: the limits in force before and after, the first time ``limit`` disagrees with the
            one in force; else ``None``.
        """
        key = id(user)
        if self._users.get(key) == limit and not self._departed:  # the common case, without the lock
            return None
        with self._lock:
            # Departures first: a user collected since may have left its id to this one.
            while self._departed:
                self._users.pop(self._departed.popleft(), None)
            if key not in self._users:
                weakref.finalize(user, self._departed.append, key)
            self._users[key] = limit
            before = self.limit
            self._set_limit(
                RateLimit(
                    min(user_limit.calls for user_limit in self._users.values()),
                    max(user_limit.period_seconds for user_limit in self._users.values()),
                )
            )
            if limit in self._limits_met or limit == before:
                return None
            self._limits_met.add(limit)
            return before, self.limit

    def _set_limit(self, limit: RateLimit) -> None:
        """Apply a new limit, adding or retiring slots; under the lock."""
        change, self.limit = limit.calls - self.limit.calls, limit
        if change < 0:
            # Retire the slots whose last call is oldest first: they weigh least on the coming period.
            self._to_retire -= change
            while self._to_retire and self._free_at:
                heapq.heappop(self._free_at)
                self._to_retire -= 1
            return
        revived = min(change, self._to_retire)
        self._to_retire -= revived
        for _ in range(change - revived):
            self._hand_or_keep(0.0)

    def _take(self, loop: asyncio.AbstractEventLoop | None) -> float | _Waiter:
        """Take the earliest free slot (its time) or, if none is free, join the queue."""
        with self._lock:
            if self._free_at and not self._waiters:
                return heapq.heappop(self._free_at)
            waiter = _Waiter(loop)
            self._waiters.append(waiter)
            return waiter

    def _give_back(self, free_at: float) -> None:
        """Hand a slot that may be used from ``free_at`` to the first waiter, or keep it."""
        with self._lock:
            if self._to_retire:
                self._to_retire -= 1
                return
            self._hand_or_keep(free_at)

    def _hand_or_keep(self, free_at: float) -> None:
        """Hand a slot to the first waiter that can take it, or keep it free; under the lock."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.abandoned and waiter.hand(free_at):
                return
        heapq.heappush(self._free_at, free_at)

    def _abandon(self, waiter: _Waiter) -> None:
        """Leave the queue; a slot handed over meanwhile goes to the next waiter."""
        with self._lock:
            waiter.abandoned = True
            handed = waiter.free_at
        if handed is not None:
            self._give_back(handed)

    def _release(self, used: bool, free_at: float) -> None:
        self._give_back(time.monotonic() + self.limit.period_seconds if used else free_at)

    @contextmanager
    def slot(self) -> Iterator[float]:
        """Hold a slot for one call, blocking until it may be made; yields the seconds waited."""
        start = time.monotonic()
        taken = self._take(None)
        if isinstance(taken, _Waiter):
            try:
                taken.wait()
            except BaseException:
                self._abandon(taken)
                raise
            assert taken.free_at is not None
            taken = taken.free_at
        try:
            if (delay := taken - time.monotonic()) > 0:
                time.sleep(delay)
        except BaseException:
            self._release(False, taken)
            raise
        try:
            yield time.monotonic() - start
        finally:
            self._release(True, taken)

    @asynccontextmanager
    async def slot_async(self) -> AsyncIterator[float]:
        """Hold a slot for one call, waiting without blocking the loop; yields the seconds waited."""
        start = time.monotonic()
        taken = self._take(asyncio.get_running_loop())
        if isinstance(taken, _Waiter):
            try:
                await taken.wait_async()
            except BaseException:  # cancelled: e.g. the trigger was
                self._abandon(taken)
                raise
            assert taken.free_at is not None
            taken = taken.free_at
        try:
            await _sleep_until(taken)
        except BaseException:
            self._release(False, taken)
            raise
        try:
            yield time.monotonic() - start
        finally:
            self._release(True, taken)


async def _sleep_until(moment: float) -> None:
    """
    Sleep until ``moment`` (``time.monotonic()``) by the loop's own timer.

    A timer set for the moment itself, not for a delay computed from it, keeps coroutines waking
    in the order of their slots: a pause between reading the clock and starting to sleep would
    otherwise swap two slots free a few microseconds apart.
    """
    loop = asyncio.get_running_loop()
    when = moment + (loop.time() - time.monotonic())  # the same clock for asyncio's own loops
    if when <= loop.time():
        return
    woken: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not woken.done():
            woken.set_result(None)

    timer = loop.call_at(when, wake)
    try:
        await woken
    finally:
        timer.cancel()


_limiters: dict[tuple[str, str, str], SharedRateLimiter] = {}
_limiters_lock = threading.Lock()
log = logging.getLogger(__name__)


def shared_limiter(
    endpoint: str, limit: RateLimit, *, base_url: str, access_key: str, user: object
) -> SharedRateLimiter:
    """
    Return this process's limiter for one endpoint of one API host and access key.

    Hooks and triggers that use the same credentials against the same host share it, so their
    calls add up against the one quota the API keeps for them. When their connections set
    different limits, the strictest of those in use applies to all of them, and a warning says so
    once per limit.

    :param endpoint: the endpoint's name, e.g. ``complete_upload``.
    :param limit: the limit configured for it.
    :param base_url: the API base URL.
    :param access_key: the access key ID the calls are signed with.
    :param user: what sets ``limit`` (a connection's settings): its limit counts while it lives.
    """
    key = (endpoint, base_url, access_key)
    limiter = _limiters.get(key)
    if limiter is None:
        with _limiters_lock:
            limiter = _limiters.setdefault(key, SharedRateLimiter(limit))
    if (change := limiter.join(user, limit)) is not None:
        log.warning(
            "Connections using access key %s on %s set different limits for %s: %s here, %s already "
            "in force. The stricter, %s, applies to all of them; set the same limit on each.",
            access_key,
            base_url,
            endpoint,
            limit.describe(),
            change[0].describe(),
            change[1].describe(),
        )
    return limiter
