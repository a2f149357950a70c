"""
What the rate-limit figures share: the time-scaled limit, and where a 429 came from.

The figures run the API's completion limit (1000 per minute) with time divided by
:data:`TIME_SCALE`: the emulator allows 1000 completions per 6 s. The client's limiter
(``airflow_provider_mi.core.limiter``) keeps a limit of N calls per period as N slots: a call
holds one from its permit until its answer is in, and the slot is free again one period after that
answer. The connection extra ``complete_calls_per_minute`` gives N; the period it counts over comes
from ``settings.RATE_LIMIT_EXTRAS``, which the client processes patch to :data:`PERIOD_S`
(``--minute-seconds``, :func:`benchmarks.clients.common.count_completions_per`). The client then
keeps exactly the emulator's limit, and never sends more than N calls in any period, whatever
delays a request on its way; a saturated client gets N calls per (period + the time a call takes).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

from benchmarks.stats import percentile

#: How much faster time runs in the figures than in production, and the production period.
TIME_SCALE, PRODUCTION_PERIOD_S = 10, 60.0
#: The emulator's period and the client's (the API's minute, time-scaled).
PERIOD_S = PRODUCTION_PERIOD_S / TIME_SCALE


def client_per_minute(limit_calls: int) -> int:
    """
    The ``complete_calls_per_minute`` extra that keeps ``limit_calls`` per :data:`PERIOD_S`.

    It is the number of calls itself: the client processes count it over :data:`PERIOD_S` (their
    ``--minute-seconds``), not over 60 s.
    """
    return limit_calls


def client_args() -> list[str]:
    """The arguments that make a client process count the completion limit over :data:`PERIOD_S`."""
    return ["--minute-seconds", f"{PERIOD_S:g}"]


def client_limiter(limit_calls: int) -> str:
    """The client's limiter, in words."""
    return f"{limit_calls} slots, each free {PERIOD_S:g} s after its call's answer"


def max_in_window(times: Sequence[float], window: float) -> int:
    """The most of ``times`` (sorted) that fall in any half-open interval of length ``window``."""
    best = 0
    for low, start in enumerate(times):
        best = max(best, bisect_left(times, start + window, lo=low) - low)
    return best


def max_slots_held(attempts: Sequence[Sequence[Any]]) -> int:
    """
    The most slots held at once: each attempt holds one from its permit to its release + a period.

    The permit is noted just after the limiter gave it and the release just before the limiter took
    it back, so this errs low by those few microseconds, never high.
    """
    events = sorted(
        [(permit, 1) for permit, *_ in attempts] + [(release + PERIOD_S, -1) for _, release, *_ in attempts],
        key=lambda event: (event[0], event[1]),  # a slot freed at t is free for a permit at t
    )
    held = best = 0
    for _, change in events:
        held += change
        best = max(best, held)
    return best


def _ms_percentiles(values: Sequence[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        name: round(percentile(values, fraction) * 1000, 1)
        for name, fraction in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
    }


def mean_call_s(result: dict[str, Any]) -> float | None:
    """The mean time from a permit to its slot's release (the time a call holds its slot in flight)."""
    spans = [release - permit for permit, release, *_ in result["attempts"] if permit and release]
    return sum(spans) / len(spans) if spans else None


def limiter_diagnosis(
    result: dict[str, Any], limit_calls: int, origin: float, origin_name: str
) -> dict[str, Any]:
    """
    Whether the client's limiter ever let more than its calls go in a period, and the 429s' context.

    ``result`` is what :class:`benchmarks.clients.limits.Recorder` noted: per attempt its permit,
    its slot's release, its answer, whether it was throttled and whether the async hook made it.
    The emulator admits a call between its permit and its answer; for each throttled attempt, the
    other attempts that could have been admitted in the period before it are counted (an upper
    bound of what the emulator saw from this client). Times are seconds after ``origin`` (named
    ``origin_name``).
    """
    attempts = sorted(result["attempts"])  # [permit, release, answer, throttled, asynchronous] by permit
    permits = [attempt[0] for attempt in attempts]
    admitted = [attempt for attempt in attempts if not attempt[3]]
    throttled = []
    for permit, _, answer, _, asynchronous in [attempt for attempt in attempts if attempt[3]][:20]:
        possible = sum(
            other_answer > permit - PERIOD_S and other_permit < answer
            for other_permit, _, other_answer, *_ in admitted
        )
        throttled.append(
            {
                "answer_s": round(answer - origin, 3),
                "caller": "async" if asynchronous else "sync",
                "permit_to_answer_ms": round((answer - permit) * 1000, 1),
                "admitted_attempts_that_could_fall_in_its_period": possible,
            }
        )
    latency = {
        caller: _ms_percentiles(
            [answer - permit for permit, _, answer, _, asynchronous in attempts if asynchronous == flag]
        )
        for caller, flag in (("sync", False), ("async", True))
    }
    mean_call = mean_call_s(result)
    return {
        "times_are_s_after": origin_name,
        "client_limiter": client_limiter(limit_calls),
        "permits": len(permits),
        "max_slots_held_at_once": max_slots_held(attempts),
        "max_permits_in_any_period": max_in_window(permits, PERIOD_S),
        "max_admitted_answers_in_any_period": max_in_window(
            sorted(answer for _, _, answer, was_throttled, _ in attempts if not was_throttled), PERIOD_S
        ),
        "permit_to_answer_ms": {caller: value for caller, value in latency.items() if value},
        "mean_permit_to_release_ms": None if mean_call is None else round(mean_call * 1000, 1),
        "throttled_attempts": len(attempts) - len(admitted),
        "first_throttled_attempts": throttled,
    }
