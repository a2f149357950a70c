"""
Instruments for the rate-limit figures: when the client's limiter gave permits, when calls ended.

:func:`instrument` wraps, in the measuring process only, the shared limiter's ``acquire`` methods
and both hooks' ``_send_once`` (one HTTP attempt each) to note the ``time.monotonic()`` of every
permit and of every attempt's answer: admitted, throttled (429) or failed otherwise. The monotonic
clock is the machine's, so the times compare with the emulator samples taken by another process.
Nothing of the provider is changed but these wrappers, which add a list append per event.
"""

from __future__ import annotations

import contextvars
import functools
import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Recorder:
    """The instrumented events, as monotonic times in seconds."""

    permits: list[float] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)
    throttled: list[float] = field(default_factory=list)
    failed: list[tuple[float, str]] = field(default_factory=list)
    #: Per attempt: its permit's time, its answer's time, whether the answer was a 429, whether
    #: the async hook made it.
    attempts: list[tuple[float, float, bool, bool]] = field(default_factory=list)
    #: The permit of the attempt under way in this thread or task.
    permit: contextvars.ContextVar[float] = field(
        default_factory=lambda: contextvars.ContextVar("permit", default=0.0)
    )

    def note_permit(self) -> None:
        now = time.monotonic()
        self.permits.append(now)
        self.permit.set(now)

    def note_answer(self, asynchronous: bool) -> None:
        now = time.monotonic()
        self.answered.append(now)
        self.attempts.append((self.permit.get(), now, False, asynchronous))

    def note_error(self, err: BaseException, asynchronous: bool) -> None:
        now = time.monotonic()
        if getattr(err, "status", None) == 429:
            self.throttled.append(now)
            self.attempts.append((self.permit.get(), now, True, asynchronous))
        else:
            self.failed.append((now, f"{type(err).__name__}: {err}"[:300]))

    def result(self) -> dict[str, Any]:
        """The events as JSON values (times rounded to 0.1 ms)."""
        return {
            "permit_times": [round(value, 4) for value in self.permits],
            "answer_times": [round(value, 4) for value in self.answered],
            "throttled_times": [round(value, 4) for value in self.throttled],
            "failures": [[round(at, 4), text] for at, text in self.failed[:20]],
            "failure_count": len(self.failed),
            "attempts": [
                [round(permit, 4), round(answer, 4), *flags] for permit, answer, *flags in self.attempts
            ],
        }


def instrument() -> Recorder:
    """Wrap the limiter and the hooks of this process; return where their events go."""
    from airflow_provider_mi.core.limiter import SharedRateLimiter
    from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceAsyncHook, MediaIntelligenceHook

    recorder = Recorder()
    acquire, acquire_async = SharedRateLimiter.acquire, SharedRateLimiter.acquire_async
    send_sync, send_async = MediaIntelligenceHook._send_once, MediaIntelligenceAsyncHook._send_once

    @functools.wraps(acquire)
    def timed_acquire(self: SharedRateLimiter) -> float:
        waited = acquire(self)
        recorder.note_permit()
        return waited

    @functools.wraps(acquire_async)
    async def timed_acquire_async(self: SharedRateLimiter) -> float:
        waited = await acquire_async(self)
        recorder.note_permit()
        return waited

    @functools.wraps(send_sync)
    def timed_send(self: MediaIntelligenceHook, request: Any) -> dict[str, Any]:
        try:
            result = send_sync(self, request)
        except Exception as err:
            recorder.note_error(err, asynchronous=False)
            raise
        recorder.note_answer(asynchronous=False)
        return result

    @functools.wraps(send_async)
    async def timed_send_async(self: MediaIntelligenceAsyncHook, request: Any) -> dict[str, Any]:
        try:
            result = await send_async(self, request)
        except Exception as err:
            recorder.note_error(err, asynchronous=True)
            raise
        recorder.note_answer(asynchronous=True)
        return result

    SharedRateLimiter.acquire = timed_acquire  # type: ignore[method-assign]
    SharedRateLimiter.acquire_async = timed_acquire_async  # type: ignore[method-assign]
    MediaIntelligenceHook._send_once = timed_send  # type: ignore[method-assign]
    MediaIntelligenceAsyncHook._send_once = timed_send_async  # type: ignore[method-assign]
    return recorder
