"""
Instruments for the rate-limit figures: when the client's limiter gave slots, when calls ended.

:func:`instrument` wraps, in the measuring process only, the ``slot`` and ``slot_async`` context
managers of the process's limiter and of the one shared through Redis (a slot taken inside another,
the Redis limiter's queue gate or its fallback, is not noted again) and both hooks' ``_send`` (one
HTTP attempt each) to note the
``time.monotonic()`` of every permit (the limiter let the call go), of every release (just before
the limiter frees the slot, one period later) and of every attempt's answer: admitted, throttled
(429) or failed otherwise. The monotonic clock is the machine's, so the times compare with the
emulator samples taken by another process. Nothing of the provider is changed but these wrappers,
which add a generator layer and a few list appends per call.
"""

from __future__ import annotations

import argparse
import contextvars
import functools
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from airflow_provider_mi.core.pipeline import Answer, Exchange, Failure
from benchmarks.clients.common import configure_airflow_logging, count_completions_per


@dataclass
class Recorder:
    """The instrumented events, as monotonic times in seconds."""

    permits: list[float] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)
    throttled: list[float] = field(default_factory=list)
    failed: list[tuple[float, str]] = field(default_factory=list)
    #: Per attempt: its permit, its slot's release, its answer, whether the answer was a 429,
    #: whether the async hook made it.
    attempts: list[tuple[float, float, float, bool, bool]] = field(default_factory=list)
    #: The permit and release of the attempt under way in this thread or task.
    slot: contextvars.ContextVar[tuple[float, float]] = field(
        default_factory=lambda: contextvars.ContextVar("slot", default=(0.0, 0.0))
    )

    def note_permit(self) -> None:
        now = time.monotonic()
        self.permits.append(now)
        self.slot.set((now, 0.0))

    def note_release(self) -> None:
        self.slot.set((self.slot.get()[0], time.monotonic()))

    def note_outcome(self, outcome: Answer | Failure, asynchronous: bool) -> None:
        """Note one attempt's end: answered, throttled (429), or failed otherwise."""
        now = time.monotonic()
        if isinstance(outcome, Answer) and outcome.status == 429:
            self.throttled.append(now)
            self.attempts.append((*self.slot.get(), now, True, asynchronous))
        elif isinstance(outcome, Answer) and outcome.status < 400:
            self.answered.append(now)
            self.attempts.append((*self.slot.get(), now, False, asynchronous))
        else:
            failure = outcome.error if isinstance(outcome, Failure) else f"HTTP {outcome.status}"
            text = f"{type(failure).__name__}: {failure}" if isinstance(failure, Exception) else failure
            self.failed.append((now, text[:300]))
        self.slot.set((0.0, 0.0))  # an attempt without a limiter (another endpoint) gets none

    def result(self) -> dict[str, Any]:
        """The events as JSON values (times rounded to 0.1 ms)."""
        return {
            "permit_times": [round(value, 4) for value in self.permits],
            "answer_times": [round(value, 4) for value in self.answered],
            "throttled_times": [round(value, 4) for value in self.throttled],
            "failures": [[round(at, 4), text] for at, text in self.failed[:20]],
            "failure_count": len(self.failed),
            "attempts": [
                [round(permit, 4), round(release, 4), round(answer, 4), *flags]
                for permit, release, answer, *flags in self.attempts
            ],
        }


#: Whether this thread or task is inside a timed slot already (the outer one notes the times).
_inside_slot: contextvars.ContextVar[bool] = contextvars.ContextVar("inside_slot", default=False)


def _time_slots(limiter_class: Any, recorder: Recorder) -> None:
    """Wrap ``limiter_class``'s ``slot`` and ``slot_async`` to note each permit and release."""
    slot, slot_async = limiter_class.slot, limiter_class.slot_async

    @functools.wraps(slot)
    @contextmanager
    def timed_slot(self: Any) -> Iterator[float]:
        if _inside_slot.get():
            with slot(self) as waited:
                yield waited
            return
        _inside_slot.set(True)
        try:
            with slot(self) as waited:
                recorder.note_permit()
                try:
                    yield waited
                finally:
                    recorder.note_release()
        finally:
            _inside_slot.set(False)

    @functools.wraps(slot_async)
    @asynccontextmanager
    async def timed_slot_async(self: Any) -> AsyncIterator[float]:
        if _inside_slot.get():
            async with slot_async(self) as waited:
                yield waited
            return
        _inside_slot.set(True)
        try:
            async with slot_async(self) as waited:
                recorder.note_permit()
                try:
                    yield waited
                finally:
                    recorder.note_release()
        finally:
            _inside_slot.set(False)

    limiter_class.slot, limiter_class.slot_async = timed_slot, timed_slot_async


def instrument() -> Recorder:
    """Wrap the limiter and the hooks of this process; return where their events go."""
    from airflow_provider_mi.core.limiter import SharedRateLimiter
    from airflow_provider_mi.core.redis_limiter import RedisRateLimiter
    from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceAsyncHook, MediaIntelligenceHook

    recorder = Recorder()
    send_sync, send_async = MediaIntelligenceHook._send, MediaIntelligenceAsyncHook._send
    for limiter_class in (SharedRateLimiter, RedisRateLimiter):
        _time_slots(limiter_class, recorder)

    @functools.wraps(send_sync)
    def timed_send(self: MediaIntelligenceHook, exchange: Exchange) -> Answer | Failure:
        outcome = send_sync(self, exchange)
        recorder.note_outcome(outcome, asynchronous=False)
        return outcome

    @functools.wraps(send_async)
    async def timed_send_async(self: MediaIntelligenceAsyncHook, exchange: Exchange) -> Answer | Failure:
        outcome = await send_async(self, exchange)
        recorder.note_outcome(outcome, asynchronous=True)
        return outcome

    MediaIntelligenceHook._send = timed_send  # type: ignore[method-assign]
    MediaIntelligenceAsyncHook._send = timed_send_async  # type: ignore[method-assign]
    return recorder


def add_time_scale_argument(args: argparse.ArgumentParser) -> None:
    """Add ``--minute-seconds``: the period the client counts its per-minute limit over."""
    args.add_argument(
        "--minute-seconds",
        type=float,
        default=60.0,
        help="the period the complete_calls_per_minute extra counts its calls over (time-scaled figures)",
    )


def start_throttled_client(options: argparse.Namespace) -> Recorder:
    """
    Set up a rate-limit client as a task or triggerer process runs: time scale, Airflow's logging,
    the provider's modules imported before anything is measured; return the instrumented recorder.
    """
    count_completions_per(options.minute_seconds)
    configure_airflow_logging(Path(options.out).with_suffix(".airflow.log"))
    import aiohttp  # noqa: F401 - imported before the start

    import airflow_provider_mi.core.limiter
    import airflow_provider_mi.triggers.person_thumbnail  # noqa: F401

    return instrument()
