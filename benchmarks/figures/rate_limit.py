"""
Figure 3, ``rate_limit``: a burst of completions from many threads and many triggers of one process
against an emulator enforcing the completion limit scaled down in time: the 429s it answered and
the rate achieved, as a fraction of the limit.

The emulator (another process) enforces the documented 1000 completions per minute with time
divided by 10: a strict sliding-window log of 1000 calls per 6 s. The client process counts its
``complete_calls_per_minute`` extra (1000) over 6 s too (see :mod:`benchmarks.figures.throttling`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.emulator import COMPLETE, StatsSampler, emulator, stats, store_thumbnails
from benchmarks.figures.throttling import (
    PERIOD_S,
    TIME_SCALE,
    client_args,
    client_limiter,
    client_per_minute,
    limiter_diagnosis,
    mean_call_s,
)
from benchmarks.processes import run_client
from benchmarks.report import Goal, measured
from benchmarks.stats import ratio

KEYS = ("rate_limit",)
GOAL = Goal(">=", 0.95, "429s == 0 and achieved rate / limit >= 0.95")
WORKSPACE = "bench-workspace"
PREFIX = "persons/thumbnails/rate"


@dataclass(frozen=True)
class Size:
    threads: int
    triggers: int
    calls: int
    limit_calls: int  # per PERIOD_S: the API's 1000 per minute, time-scaled


SIZES = {
    False: Size(threads=8, triggers=200, calls=4000, limit_calls=1000),
    True: Size(threads=2, triggers=2, calls=3, limit_calls=2),
}

METHOD = (
    "The emulator (another process) enforces {limit_calls} completions per {period:g} s (the API's "
    "{limit_calls} per minute, time divided by {scale}) with a strict sliding-window log, answering 429 "
    "beyond it. One client process, connection extra complete_calls_per_minute={client_per_minute}, "
    "counted over {period:g} s in that process (settings.RATE_LIMIT_EXTRAS patched at its start), so "
    "its limiter keeps {limiter}: {threads} threads, each with its own MediaIntelligenceHook, call "
    "complete_person_thumbnail_upload while an asyncio loop in another thread keeps {triggers} "
    "PersonThumbnailUploadTriggers running (each key is ready, so each trigger makes one call and "
    "fires; a new trigger takes its place), {calls} calls in all from one pool of keys, all starting "
    "at once. 429s: the emulator's throttled count (the hooks retry them; the client's count of 429 "
    "answers is in details). Achieved rate: {limit_calls} / the mean, over every call j, of the time "
    "from the answer of call j to the answer of call j+{limit_calls} (answers in time order). A "
    "client that kept the emulator's window saturated would get each call one period after the call "
    "{limit_calls} before it, so this is the limit's rate for a perfect client, whether it sends its "
    "calls in waves or evenly; ratio = achieved rate / limit rate ({limit_calls} / {period:g} s). "
    "This client frees a slot a period after the call's answer, so each call on a slot costs the "
    "period plus the time the call takes: it can reach about period / (period + that time), "
    "{best:.3f} with the mean measured here over all calls ({mean_call_ms:.0f} ms, "
    "details.limiter.mean_permit_to_release_ms; the calls of the first wave, sent while everything "
    "starts, are the slow ones and do not delay a later wave's answers, so the ratio can be a "
    "little above it). "
    "details.alternative_ratios gives two other definitions."
)


def sustained_rate(answers: Sequence[float], calls: int) -> float | None:
    """``calls`` / the mean time from each answer to the answer ``calls`` later (``None`` if too few)."""
    pairs = len(answers) - calls
    if pairs <= 0:
        return None
    gap = (sum(answers[calls:]) - sum(answers[:pairs])) / pairs
    return calls / gap if gap > 0 else None


def alternative_ratios(answers: Sequence[float], started: float, limit_calls: int) -> dict[str, Any]:
    """The two other definitions of the rate ratio, for comparison."""
    limit_rate = limit_calls / PERIOD_S
    after_first = [at for at in answers if at > started + PERIOD_S]
    steady_span = answers[-1] - (started + PERIOD_S) if after_first else 0.0
    duration = answers[-1] - started if answers else 0.0
    minimum = (math.ceil(len(answers) / limit_calls) - 1) * PERIOD_S
    return {
        "after_first_period": {
            "definition": "answers after start + one period / the time from then to the last answer, "
            "over the limit rate. Overstates a client that sends bursts: it counts the burst of the "
            "last period but not the wait after it",
            "value": round(ratio(len(after_first), steady_span * limit_rate) or 0.0, 4),
        },
        "minimum_duration": {
            "definition": "(ceil(calls / limit calls) - 1) periods, the least time from the first "
            "call to the last if every burst took no time, / the time from the start to the last "
            "answer. Understates: sending the last wave takes time",
            "value": round(ratio(minimum, duration) or 0.0, 4),
        },
    }


def measure(smoke: bool = False) -> dict[str, dict[str, Any]]:
    """Run the client against the rate-limited emulator (another process); build the entry."""
    size = SIZES[smoke]
    per_minute = client_per_minute(size.limit_calls)
    with emulator(rate_limits=[f"{COMPLETE}={size.limit_calls}/{PERIOD_S:g}"]) as api:
        store_thumbnails(api.url, WORKSPACE, [f"{PREFIX}-{i}" for i in range(size.calls)], visible=True)
        before = stats(api.url)
        with StatsSampler(api.url) as sampler:
            result = run_client(
                "benchmarks.clients.rate_limit",
                [
                    *("--threads", str(size.threads), "--triggers", str(size.triggers)),
                    *("--calls", str(size.calls), "--prefix", PREFIX),
                    *client_args(),
                ],
                env={
                    "AIRFLOW_CONN_NCP_MI_DEFAULT": api.connection_json(complete_calls_per_minute=per_minute)
                },
            )
        after = stats(api.url)
    started = result["started"]
    answers = sorted(result["answer_times"])
    throttled = after["throttled"][COMPLETE] - before["throttled"][COMPLETE]
    limit_rate = size.limit_calls / PERIOD_S
    achieved = sustained_rate(answers, size.limit_calls)
    mean_call = mean_call_s(result) or 0.0
    rate_ratio = ratio(achieved, limit_rate) if achieved is not None else None
    return {
        "rate_limit": measured(
            what=f"A burst of {size.calls} completions from {size.threads} threads and {size.triggers} "
            f"triggers of one process against an emulator enforcing {size.limit_calls} calls per "
            f"{PERIOD_S:g} s (the API's per-minute limit, time / {TIME_SCALE}): 429s received and achieved "
            "rate as a fraction of the limit.",
            method=METHOD.format(
                period=PERIOD_S,
                scale=TIME_SCALE,
                client_per_minute=per_minute,
                limiter=client_limiter(size.limit_calls),
                best=PERIOD_S / (PERIOD_S + mean_call),
                mean_call_ms=mean_call * 1000,
                **size.__dict__,
            ),
            unit="calls/s",
            sides={
                "achieved": {"value": round(achieved or 0.0, 2), "emulator_429s": throttled},
                "limit": {"value": round(limit_rate, 2)},
            },
            ratio=rate_ratio,
            ratio_of="achieved / limit",
            goal=GOAL,
            criteria={"no_429s": throttled == 0},
            also=f"{throttled} 429s",
            details={
                "calls": size.calls,
                "calls_answered": len(answers),
                "calls_by_side": result["calls_by_side"],
                "outcomes_by_side": result["outcomes_by_side"],
                "emulator_admitted": after["admitted"][COMPLETE] - before["admitted"][COMPLETE],
                "emulator_429s": throttled,
                "emulator_429s_s_after_start_sampled": sampler.throttled_times(started)[:50],
                "client_429_answers": len(result["throttled_times"]),
                "client_other_failures": result["failure_count"],
                "client_other_failures_first": result["failures"],
                "duration_s": round(answers[-1] - started, 3) if answers else None,
                "client_cpu_s": result["cpu_s"],
                "admitted_per_second_from_start": sampler.admitted_series(started, 1.0),
                "about_the_best_ratio_for_this_limiter": round(PERIOD_S / (PERIOD_S + mean_call), 4),
                "alternative_ratios": alternative_ratios(answers, started, size.limit_calls),
                "limiter": limiter_diagnosis(result, size.limit_calls, started, "the start"),
            },
        )
    }
