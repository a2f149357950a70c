"""
How a wait polls, shared by the sensor (poke and reschedule mode) and the trigger (deferred).

One rule for errors: transient errors are ridden out, but at most ``max_consecutive_errors`` checks
in a row may fail before the wait gives up with the last error. One rule for the interval: the
poke interval, or with exponential backoff the interval Airflow's own sensors use.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum

from airflow_provider_mi.exceptions import MediaIntelligenceError, MediaIntelligenceGaveUpError

#: Checks in a row that may fail with a transient error before a wait gives up (about ten
#: minutes at the default poke interval of 60 s).
DEFAULT_MAX_CONSECUTIVE_ERRORS = 10


class WaitOutcome(str, Enum):
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
