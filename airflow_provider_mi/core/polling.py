"""
How a wait polls, shared by the sensor (poke and reschedule mode), the trigger (deferred) and the
upload operators' ``wait_for_completion`` (in the task, or deferred to the trigger).

One rule for errors: transient errors are ridden out, but at most ``max_consecutive_errors`` checks
in a row may fail before the wait gives up with the last error. One rule for the interval: the
poke interval, or with exponential backoff the interval Airflow's own sensors use. One wait for
one or many keys (:func:`poll_keys`), a generator of steps driven by the trigger in the event loop
and by the operators in the task.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable, Collection, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from airflow_provider_mi.core.models import UploadCompletion, UploadOutcome
from airflow_provider_mi.core.retry import LoggerLike
from airflow_provider_mi.exceptions import (
    MediaIntelligenceError,
    MediaIntelligenceGaveUpError,
    error_from_payload,
)

#: Checks in a row that may fail with a transient error before a wait gives up (about ten
#: minutes at the default poke interval of 60 s).
DEFAULT_MAX_CONSECUTIVE_ERRORS = 10


class WaitOutcome(StrEnum):
    """The ``status`` of a trigger's event: how a deferred wait ended."""

    SUCCESS = "success"
    FAILED = "failed"
    ERROR = "error"
    TIMEOUT = "timeout"


@dataclass
class ErrorStreak:
    """
    Count the checks in a row that failed with a transient error.

    :param limit: how many may fail in a row before the wait gives up; ``None`` never gives up.
    :param count: how many failed in a row so far.
    """

    limit: int | None = DEFAULT_MAX_CONSECUTIVE_ERRORS
    count: int = 0

    def failed(self, error: MediaIntelligenceError) -> MediaIntelligenceGaveUpError | None:
        """Count one failed check; return the error to give up with once the limit is reached."""
        self.count += 1
        if self.limit is None or self.count < self.limit:
            return None
        return MediaIntelligenceGaveUpError(
            f"Gave up after {self.count} checks in a row failed (max_consecutive_errors={self.limit}). "
            f"The last error: {error} If the API may stay unreachable for longer, raise "
            "max_consecutive_errors, or set it to None to wait until the timeout."
        )

    def succeeded(self) -> None:
        """Count one check that got an answer: the streak ends."""
        self.count = 0


def next_interval(
    poke_interval: float,
    poke_count: int,
    *,
    exponential_backoff: bool = False,
    max_wait: float | None = None,
    seed: str = "",
) -> float:
    """
    Return the seconds to wait after the ``poke_count``-th check.

    With exponential backoff this is the interval Airflow's ``BaseSensorOperator`` uses in poke
    mode: at least 1 s, doubling from half the poke interval, with a jitter of up to 100 % that
    ``seed`` makes deterministic; ``max_wait`` caps it.

    :param poke_interval: the sensor's poke interval, in seconds.
    :param poke_count: how many checks were made so far (1 after the first).
    :param exponential_backoff: whether to back off.
    :param max_wait: the longest interval, in seconds, or ``None``.
    :param seed: what makes the jitter differ between waits (e.g. the thumbnail key).
    """
    if not exponential_backoff:
        interval = poke_interval
    else:
        min_backoff = max(int(poke_interval * 2 ** (poke_count - 2)), 1)
        digest = hashlib.sha1(f"{seed}#{poke_count}".encode(), usedforsecurity=False).hexdigest()
        interval = float(min_backoff + int(digest, 16) % min_backoff)
    return min(interval, max_wait) if max_wait else interval


def describe_wait(thumbnail_key: str, workspace_name: str | None, mi_conn_id: str, last_status: str) -> str:
    """Say what a sensor waited for and what it saw last, for timeout messages."""
    workspace = workspace_name or f"the default of connection {mi_conn_id!r}"
    return f"Waited for thumbnail {thumbnail_key!r} in workspace {workspace}; last status: {last_status}."


#: Completion checks a wait for many keys sends at once (the rate limiter paces them further).
CHECKS_AT_ONCE = 16
#: How many keys a message names before it says "and N more".
NAMED_KEYS = 20


@dataclass(frozen=True)
class CheckKeys:
    """A step of :func:`poll_keys`: check these keys, and send back each one's answer or error, in order."""

    keys: tuple[str, ...]


@dataclass(frozen=True)
class Pause:
    """A step of :func:`poll_keys`: wait so many seconds before the next round of checks."""

    seconds: float


CheckAnswer = UploadCompletion | MediaIntelligenceError
PollSteps = Generator["CheckKeys | Pause", "Sequence[CheckAnswer] | None", "KeysOutcome"]


@dataclass
class KeysOutcome:
    """
    How a wait for one or more thumbnail keys ended: each key's outcome, as plain values.

    :param status: ``success`` (every key completed), ``failed`` (every key is terminal, some failed
        for good), ``timeout`` (the deadline came first) or ``error`` (an error ended the wait).
    :param completed: the keys that completed, with the API's result.
    :param failed: the keys that failed for good, with the API's result.
    :param waiting: the keys not done, with the last status seen of each.
    :param error: the error that ended the wait, for ``error``.
    """

    status: WaitOutcome
    completed: dict[str, UploadCompletion] = field(default_factory=dict)
    failed: dict[str, UploadCompletion] = field(default_factory=dict)
    waiting: dict[str, str] = field(default_factory=dict)
    error: MediaIntelligenceError | None = None

    def to_event(self) -> dict[str, Any]:
        """Return the outcome as plain JSON values (a trigger event's fields)."""
        fields: dict[str, Any] = {
            "completed": list(self.completed),
            "failed": {key: completion.to_api_dict() for key, completion in self.failed.items()},
            "waiting": dict(self.waiting),
        }
        if self.error is not None:
            fields["error"] = self.error.payload()
        return {"status": self.status.value, **fields}

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> KeysOutcome:
        """Rebuild the outcome from :meth:`to_event`'s values."""
        completed = {key: UploadCompletion(key, "COMPLETED") for key in event.get("completed") or []}
        failed = {
            key: UploadCompletion(key, str(result.get("uploadStatus")), result.get("uploadMessage"))
            for key, result in (event.get("failed") or {}).items()
        }
        payload = event.get("error")
        error = error_from_payload(payload) if isinstance(payload, dict) else None
        if error is None and event.get("status") == WaitOutcome.ERROR.value:
            error = MediaIntelligenceError(str(event.get("message")))
        return cls(
            WaitOutcome(event["status"]),
            completed,
            failed,
            dict(event.get("waiting") or {}),
            error,
        )

    def describe(self, workspace_name: str | None, mi_conn_id: str) -> str:
        """Say in one message what completed, what failed and what is not done."""
        workspace = workspace_name or f"the default of connection {mi_conn_id!r}"
        total = len(self.completed) + len(self.failed) + len(self.waiting)
        parts = [f"Of {total} thumbnails in workspace {workspace}: {len(self.completed)} completed"]
        if self.failed:
            failed = [f"{key!r} ({c.reason or c.raw_status})" for key, c in self.failed.items()]
            parts.append(f"{len(self.failed)} failed for good: {named(failed)}")
        if self.waiting:
            waiting = [f"{key!r} (last status: {status})" for key, status in self.waiting.items()]
            parts.append(f"{len(self.waiting)} not completed: {named(waiting)}")
        return "; ".join(parts) + "."


def named(items: Sequence[str], limit: int = NAMED_KEYS) -> str:
    """Join the first ``limit`` items, then say how many more there are."""
    more = f", and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def poll_keys(
    keys: Sequence[str],
    *,
    waiting_reasons: Collection[str],
    poke_interval: float,
    end_time: float | None,
    errors: ErrorStreak,
    log: LoggerLike,
    exponential_backoff: bool = False,
    max_wait: float | None = None,
    pause_first: bool = False,
    clock: Callable[[], float] = time.time,
) -> PollSteps:
    """
    Return the steps of a wait for thumbnail keys, free of I/O: rounds of checks, pauses between.

    Each round checks the keys still waiting, :data:`CHECKS_AT_ONCE` at a time (a :class:`CheckKeys`
    step; the driver sends back each key's :class:`UploadCompletion`, or the error checking it
    raised, in order). A key that completed or failed for good is not checked again. A round in
    which no check got an answer, only transient errors, counts once against ``errors`` (and ends
    at the first such batch: the API is unreachable); a round with an answer ends the streak. An
    error that is not transient ends the wait. At ``end_time`` the keys are checked once more,
    then the wait times out. Between rounds: :func:`next_interval`, as a sensor waits.

    :param keys: the keys to wait for.
    :param waiting_reasons: failure reasons that mean "not yet" rather than "never".
    :param poke_interval: seconds between two rounds.
    :param end_time: Unix time after which the wait times out, or ``None``.
    :param errors: the streak of rounds that failed.
    :param log: where waiting and errors are said.
    :param exponential_backoff: back off between rounds as Airflow's sensors do.
    :param max_wait: the longest pause with backoff, in seconds.
    :param pause_first: pause before the first round (the keys were just checked).
    :param clock: the time, in Unix seconds.
    """
    pending: dict[str, str] = dict.fromkeys(keys, "not checked yet")
    outcome = KeysOutcome(WaitOutcome.SUCCESS, waiting=pending)
    seed = keys[0] if keys else ""
    checks = 1  # the keys were checked once before the wait (upload, or the sensor's first poke)

    def pause() -> Pause:
        interval = next_interval(
            poke_interval, checks, exponential_backoff=exponential_backoff, max_wait=max_wait, seed=seed
        )
        if end_time is not None:  # the last round is made at the deadline itself
            interval = min(interval, max(0.0, end_time - clock()))
        return Pause(interval)

    if pause_first and pending:
        yield pause()
    while pending:
        answered, transient = False, None
        round_keys = list(pending)  # answered keys leave ``pending`` during the round
        for start in range(0, len(round_keys), CHECKS_AT_ONCE):
            batch = tuple(round_keys[start : start + CHECKS_AT_ONCE])
            answers = yield CheckKeys(batch)
            assert answers is not None
            for key, answer in zip(batch, answers, strict=True):
                if isinstance(answer, MediaIntelligenceError):
                    if not answer.retryable:
                        outcome.status, outcome.error = WaitOutcome.ERROR, answer
                        return outcome
                    transient = answer
                    pending[key] = f"transient error ({answer})"
                    log.warning("Checking thumbnail %r failed, will check again: %s", key, answer)
                    continue
                answered = True
                _record(outcome, key, answer, waiting_reasons, log, single=len(keys) == 1)
            if transient is not None and not answered:
                break
        checks += 1
        if answered:
            errors.succeeded()
        elif transient is not None and (gave_up := errors.failed(transient)) is not None:
            outcome.status, outcome.error = WaitOutcome.ERROR, gave_up
            return outcome
        if not pending:
            break
        if end_time is not None and clock() >= end_time:
            outcome.status = WaitOutcome.TIMEOUT
            return outcome
        yield pause()
    outcome.status = WaitOutcome.FAILED if outcome.failed else WaitOutcome.SUCCESS
    return outcome


def _record(
    outcome: KeysOutcome,
    key: str,
    completion: UploadCompletion,
    waiting_reasons: Collection[str],
    log: LoggerLike,
    *,
    single: bool,
) -> None:
    """Take one key's answer: completed or failed for good (it leaves the waiting keys), or waiting."""
    state = completion.outcome(waiting_reasons)
    if state is UploadOutcome.COMPLETED:
        outcome.completed[key] = completion
    elif state is UploadOutcome.FAILED:
        outcome.failed[key] = completion
    else:
        status, previous = completion.describe(), outcome.waiting[key]
        outcome.waiting[key] = status
        if completion.status is None:
            log.warning("Unknown upload status %s; waiting", status)
        elif status != previous and single:  # thousands may wait at once: say each new status once
            log.info("Still waiting: %s", status)
        return
    del outcome.waiting[key]
    if not single:
        log.info("%s; %d still waiting", completion.describe(), len(outcome.waiting))


def run_polls(steps: PollSteps, check: Callable[[Sequence[str]], Sequence[CheckAnswer]]) -> KeysOutcome:
    """Drive :func:`poll_keys`' steps to their outcome, blocking: ``check`` each batch, ``time.sleep``."""
    answers: Sequence[CheckAnswer] | None = None
    while True:
        try:
            step = steps.send(answers)
        except StopIteration as finished:
            return finished.value
        if isinstance(step, Pause):
            time.sleep(step.seconds)
            answers = None
        else:
            answers = check(step.keys)


async def run_polls_async(
    steps: PollSteps, check: Callable[[Sequence[str]], Awaitable[Sequence[CheckAnswer]]]
) -> KeysOutcome:
    """Drive :func:`poll_keys`' steps to their outcome in the event loop."""
    answers: Sequence[CheckAnswer] | None = None
    while True:
        try:
            step = steps.send(answers)
        except StopIteration as finished:
            return finished.value
        if isinstance(step, Pause):
            await asyncio.sleep(step.seconds)
            answers = None
        else:
            answers = await check(step.keys)
