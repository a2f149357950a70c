"""
When and how long to retry, for both hooks (see :mod:`airflow_provider_mi.core.pipeline`).

Transient failures (HTTP 429 and 5xx, connection errors, truncated bodies) are retried with
exponential backoff and full jitter, honouring ``Retry-After``, bounded by a number of attempts
and a total time budget. Everything else fails at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Protocol

from airflow_provider_mi.exceptions import MediaIntelligenceApiError, MediaIntelligenceError


@dataclass(frozen=True)
class RetryPolicy:
    """
    Bounds of the retries of one API call.

    :param max_attempts: attempts in all, the first included.
    :param budget_seconds: total time one call may take, waits included (but waits for a turn
        under the client-side rate limit, which say nothing of the API's health); no wait starts
        that would end past it.
    :param initial_delay: backoff before the second attempt (doubled for each further one).
    :param max_delay: upper bound of one backoff.
    :param max_retry_after: upper bound of a wait the server asks for with ``Retry-After``.
    """

    max_attempts: int = 5
    budget_seconds: float = 60.0
    initial_delay: float = 0.5
    max_delay: float = 10.0
    max_retry_after: float = 30.0

    def next_wait(self, error: BaseException, attempts: int, spent: float) -> float | None:
        """
        Return how long to wait before the next attempt, or ``None`` to give up with ``error``.

        The backoff is "full jitter": a random wait up to ``initial_delay * 2 ** (attempts - 1)``,
        capped at ``max_delay``, unless the server said how long with ``Retry-After``.

        :param error: what the last attempt ended with.
        :param attempts: how many attempts were made so far.
        :param spent: seconds the call has taken against its budget so far.
        """
        if not is_retryable(error) or attempts >= self.max_attempts:
            return None
        if isinstance(error, MediaIntelligenceApiError) and error.retry_after is not None:
            wait = min(error.retry_after, self.max_retry_after)
        else:
            wait = random.uniform(0, min(self.max_delay, self.initial_delay * 2 ** (attempts - 1)))
        return None if spent + wait >= self.budget_seconds else wait


def is_retryable(exc: BaseException) -> bool:
    """Return whether ``exc`` is a transient failure worth another attempt."""
    return isinstance(exc, MediaIntelligenceError) and exc.retryable


class LoggerLike(Protocol):
    """What the core needs of a logger (Airflow's task and trigger loggers, or ``logging``'s)."""

    def info(self, msg: str, /, *args: Any) -> Any: ...

    def warning(self, msg: str, /, *args: Any, **kwargs: Any) -> Any: ...
