"""
What the rate-limit figures share: the time-scaled limit, and where a 429 came from.

The client's limiter (``airflow_provider_mi.core.rate_limit``) enforces N calls per minute as N / 10
calls per 6.12 s (a tenth of the period plus a 2 % margin), whatever N. A limit the emulator
enforces per 6 s is therefore the same limit, time divided by 10, when the connection sets N to
ten times the emulator's calls: that is the only time scale at which the connection extra, which
is per minute, can express the emulator's limit.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

from airflow_provider_mi.core.rate_limit import RateLimit
from benchmarks.stats import percentile

#: How much faster time runs in the figures than in production, and the production period.
TIME_SCALE, PRODUCTION_PERIOD_S = 10, 60.0
#: The emulator's period (the API's minute, time-scaled).
PERIOD_S = PRODUCTION_PERIOD_S / TIME_SCALE
#: A permit noted this much after the limiter gave it is still on time (the wrapper's own delay).
NOTE_DELAY_S = 0.005


def client_calls_per_minute(limit_calls: int) -> int:
    """The ``complete_calls_per_minute`` extra that expresses ``limit_calls`` per :data:`PERIOD_S`."""
    return limit_calls * TIME_SCALE


def client_window(limit_calls: int) -> tuple[int, float]:
    """The ``(calls, seconds)`` window the client's limiter keeps for ``limit_calls`` per period."""
    calls, window_ms = RateLimit(client_calls_per_minute(limit_calls), PRODUCTION_PERIOD_S).client_window()
    return calls, window_ms / 1000


def max_in_window(times: Sequence[float], window: float) -> int:
    """The most of ``times`` (sorted) that fall in any half-open interval of length ``window``."""
    best = 0
    for low, start in enumerate(times):
        best = max(best, bisect_left(times, start + window, lo=low) - low)
    return best


def _ms_percentiles(values: Sequence[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        name: round(percentile(values, fraction) * 1000, 1)
        for name, fraction in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
    }


def limiter_diagnosis(
    result: dict[str, Any], limit_calls: int, origin: float, origin_name: str
) -> dict[str, Any]:
    """
    Whether the client's limiter gave permits faster than its window, and where each 429 came from.

    ``result`` is what :class:`benchmarks.clients.limits.Recorder` noted. In permit order, permit
    ``j`` and permit ``j + calls`` (``calls`` of the client's window) must be a window apart; the
    attempt ``calls`` permits before each throttled one is shown. Times are seconds after ``origin``
    (named ``origin_name``).
    """
    calls, window_s = client_window(limit_calls)
    attempts = sorted(result["attempts"])  # [permit, answer, throttled, asynchronous] by permit
    permits = [attempt[0] for attempt in attempts]
    early = [
        (index, permits[index + calls] - permits[index])
        for index in range(len(permits) - calls)
        if permits[index + calls] - permits[index] < window_s - NOTE_DELAY_S
    ]
    throttled = []
    for index, (permit, answer, was_throttled, asynchronous) in enumerate(attempts):
        if not was_throttled:
            continue
        before = attempts[index - calls] if index >= calls else None
        throttled.append(
            {
                "answer_s": round(answer - origin, 3),
                "caller": "async" if asynchronous else "sync",
                "permit_s_after_permit_window_calls_before": None
                if before is None
                else round(permit - before[0], 4),
                "that_earlier_permit_caller": None if before is None else ("async" if before[3] else "sync"),
                "that_earlier_permit_to_answer_ms": None
                if before is None
                else round((before[1] - before[0]) * 1000, 1),
            }
        )
    latency = {
        caller: _ms_percentiles(
            [answer - permit for permit, answer, _, asynchronous in attempts if asynchronous == flag]
        )
        for caller, flag in (("sync", False), ("async", True))
    }
    return {
        "times_are_s_after": origin_name,
        "client_limiter_window": f"{calls} calls per {window_s:g} s",
        "permits": len(permits),
        "max_permits_in_any_period": max_in_window(permits, PERIOD_S),
        "max_admitted_answers_in_any_period": max_in_window(
            sorted(answer for _, answer, was_throttled, _ in attempts if not was_throttled), PERIOD_S
        ),
        "permits_closer_than_window_to_the_permit_window_calls_later": len(early),
        "closest_such_pair_s": round(min(gap for _, gap in early), 4) if early else None,
        "permit_to_answer_ms": {caller: value for caller, value in latency.items() if value},
        "throttled_attempts": throttled[:20],
    }
