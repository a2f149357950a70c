"""
When and how long to retry, shared by the sync hook and the async trigger.

Transient failures (HTTP 429 and 5xx, connection errors, truncated bodies) are retried with
exponential backoff and full jitter, honouring ``Retry-After``, bounded by a number of attempts
and a total time budget (waits for a rate-limit slot left out). Everything else fails at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

import tenacity

from airflow_provider_mi.exceptions import MediaIntelligenceApiError, MediaIntelligenceError


@dataclass(frozen=True)
class RetryPolicy:
    """
    Bounds of the retries of one API call.

    :param max_attempts: attempts in all, the first included.
    :param budget_seconds: total time one call may take, waits included; no retry starts after it.
    :param initial_delay: backoff before the second attempt (doubled for each further one).
    :param max_delay: upper bound of one backoff.
    :param max_retry_after: upper bound of a wait the server asks for with ``Retry-After``.
    """

    max_attempts: int = 5
    budget_seconds: float = 60.0
    initial_delay: float = 0.5
    max_delay: float = 10.0
    max_retry_after: float = 30.0


def is_retryable(exc: BaseException) -> bool:
    """Return whether ``exc`` is a transient failure worth another attempt."""
    return isinstance(exc, MediaIntelligenceError) and exc.retryable


class _WaitRetryAfterOrBackoff(tenacity.wait.wait_base):
    """Wait what ``Retry-After`` asks (capped), else exponential backoff with full jitter."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.backoff = tenacity.wait_random_exponential(multiplier=policy.initial_delay, max=policy.max_delay)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(exc, MediaIntelligenceApiError) and exc.retry_after is not None:
            return min(exc.retry_after, self.policy.max_retry_after)
        return float(self.backoff(retry_state))


class LoggerLike(Protocol):
    """What the core needs of a logger (Airflow's task and trigger loggers, or ``logging``'s)."""

    def info(self, msg: str, /, *args: Any) -> Any: ...

    def warning(self, msg: str, /, *args: Any) -> Any: ...


class CallBudget:
    """
    The time one API call has taken against its retry budget: all of it but its waits for a turn
    under the client-side rate limit, which say nothing about the API's health (under load they
    would otherwise use up the budget, and a 5xx would get no retry).

    While :meth:`measuring`, the limiter reports each wait of this thread or task with
    :func:`leave_out_of_budget`.
    """

    def __init__(self) -> None:
        self._started = time.monotonic()
        self.queued_seconds = 0.0

    @contextmanager
    def measuring(self) -> Iterator[CallBudget]:
        """Make this the budget of the call being made in this thread or asyncio task."""
        token = _current_budget.set(self)
        try:
            yield self
        finally:
            _current_budget.reset(token)

    def elapsed(self) -> float:
        """Seconds since the call started, waits included."""
        return time.monotonic() - self._started


_current_budget: ContextVar[CallBudget | None] = ContextVar("mi_call_budget", default=None)


def leave_out_of_budget(seconds: float) -> None:
    """
    Leave a wait for a rate-limit slot out of the budget of the call being made, if any.

    :param seconds: the time waited.
    """
    if (budget := _current_budget.get()) is not None:
        budget.queued_seconds += seconds


class _StopWhenBudgetSpent(tenacity.stop.stop_base):
    """Stop when the next wait would end past the budget (``stop_before_delay``, less the queueing)."""

    def __init__(self, budget_seconds: float, call: CallBudget) -> None:
        self.budget_seconds = budget_seconds
        self.call = call
        self.before = call.elapsed()  # the call's time before tenacity started measuring

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        spent = self.before + (retry_state.seconds_since_start or 0.0) - self.call.queued_seconds
        return spent + (retry_state.upcoming_sleep or 0.0) >= self.budget_seconds


def retry_arguments(
    policy: RetryPolicy, logger: LoggerLike, budget: CallBudget | None = None
) -> dict[str, Any]:
    """
    Return keyword arguments for ``tenacity.Retrying`` or ``tenacity.AsyncRetrying``.

    :param policy: the bounds to apply.
    :param logger: where each retry is announced.
    :param budget: the call's budget, when the call started before tenacity (see :func:`replaying`)
        or may wait for rate-limit slots; a budget starting now by default.
    """

    def announce(retry_state: tenacity.RetryCallState) -> None:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        logger.warning(
            "Attempt %d of %d failed: %s. Retrying in %.2f s.",
            retry_state.attempt_number,
            policy.max_attempts,
            exc,
            wait,
        )

    return {
        "retry": tenacity.retry_if_exception(is_retryable),
        "stop": tenacity.stop_after_attempt(policy.max_attempts)
        | _StopWhenBudgetSpent(policy.budget_seconds, budget or CallBudget()),
        "wait": _WaitRetryAfterOrBackoff(policy),
        "before_sleep": announce,
        "reraise": True,
    }


def replaying(failure: BaseException) -> Callable[[], None]:
    """
    Return a function that raises ``failure`` on its first call only.

    The hooks make a call's first attempt outside tenacity, since most calls succeed at once and
    need none of its machinery; when that attempt fails with a retryable error, they start
    tenacity and replay the failure as its first attempt, so that attempt counts, waits, the
    budget (with a :class:`CallBudget`) and the announcements are exactly as if tenacity had made it.

    :param failure: the first attempt's error.
    """
    pending = [failure]

    def raise_once() -> None:
        if pending:
            raise pending.pop()

    return raise_once
