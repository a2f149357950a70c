"""
Figure 4, ``many_waiters``: 5000 deferred triggers in one loop against an emulator enforcing the
completion limit scaled down in time (1000 per 6 s: the API's 1000 per minute, time divided by
10), every key turning COMPLETED at one moment: the 429s, the triggers that fired, the time to
drain against the limit's theoretical minimum, and the memory per waiting trigger.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
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
)
from benchmarks.processes import run_client
from benchmarks.report import Goal, measured
from benchmarks.stats import ratio

KEYS = ("many_waiters",)
GOAL = Goal("<=", 1.1, "429s == 0, all fired, drain time / minimum <= 1.1; memory per trigger reported")
WORKSPACE = "bench-workspace"
PREFIX = "persons/thumbnails/waiter"
WARM_KEY = "persons/thumbnails/warm-up"


@dataclass(frozen=True)
class Size:
    triggers: int
    limit_calls: int  # per PERIOD_S: the API's 1000 per minute, time-scaled
    interval: float
    settle: float


SIZES = {
    False: Size(triggers=5000, limit_calls=1000, interval=1.0, settle=3.0),
    True: Size(triggers=5, limit_calls=100, interval=0.2, settle=0.2),
}

METHOD = (
    "The emulator (another process) enforces {limit_calls} completions per {period:g} s (the API's "
    "{limit_calls} per minute, time divided by {scale}) with a strict sliding-window log, answering "
    "429 beyond it, and holds the {triggers} keys hidden (completion answers FILE_NOT_EXIST). One "
    "client process, connection extra complete_calls_per_minute={client_per_minute}, counted over "
    "{period:g} s in that process (settings.RATE_LIMIT_EXTRAS patched at its start), so its limiter "
    "keeps {limiter}; it runs {triggers} PersonThumbnailUploadTriggers (poke_interval {interval:g} s) "
    "in one asyncio loop, each run() consumed by its own task as the triggerer does, all started at "
    "once; they share the loop's async hook and the process's limiter, which they saturate. Memory: "
    "RSS {settle:g} s after every trigger has had an answer to its first poll, minus RSS before the "
    "first trigger was made (one trigger run to its event before, for the lazy imports), per "
    "trigger. Then POST /_emulator/complete-all flips every key at once; drain = from just before "
    "that POST to the last trigger's event. Minimum = the least time in which the emulator's sliding "
    "window could admit {triggers} calls from the flip on, given the calls it had admitted in the "
    "period before the flip (placed at their permits, which precede their arrival, so this errs "
    "towards a shorter minimum); {average:g} s ({triggers} calls at the limit's average rate) if its "
    "window had room for them all. With the window full at the flip, that minimum lies between "
    "{low:g} and {high:g} s depending on when the window's calls were admitted: the limiter's slots "
    "come free in waves (all of them at the start, then each a period after its call's answer), so "
    "the flip may fall just before a wave or just after one, and the average-rate minimum "
    "(details.vs_average_rate_minimum) can be beaten. A slot comes free a period after its call's "
    "answer, not after its arrival, so each wave of {limit_calls} calls costs the time a call takes "
    "on top of the period: about {waves} such times over the drain. Ratio = drain / minimum. 429s: "
    "the emulator's throttled count over the whole run (the hook retries them)."
)


def minimum_drain(admitted_before: Iterable[float], calls: int, limit_calls: int, flip: float) -> float:
    """
    The least time in which the emulator could admit ``calls`` calls from ``flip`` on.

    Its gateway admits a call when fewer than ``limit_calls`` were admitted in the last period; the
    calls it admitted before the flip (``admitted_before``) still count until they are a period old.
    """
    window = deque(sorted(at for at in admitted_before if flip - PERIOD_S < at <= flip))
    now = flip
    for _ in range(calls):
        while window and window[0] + PERIOD_S <= now:
            window.popleft()
        if len(window) >= limit_calls:
            now = window.popleft() + PERIOD_S
        window.append(now)
    return now - flip


def _fired_by(event_times: list[float], flip: float, count: int) -> dict[str, float | None]:
    """Seconds from the flip until half, 90 % and all of ``count`` triggers had fired."""
    times = sorted(at - flip for at in event_times)
    return {
        f"{int(share * 100)}%": round(times[int(share * count) - 1], 3)
        if len(times) >= int(share * count)
        else None
        for share in (0.5, 0.9, 1.0)
    }


def measure(smoke: bool = False) -> dict[str, dict[str, Any]]:
    """Run the client against the rate-limited emulator (another process); build the entry."""
    size = SIZES[smoke]
    per_minute = client_per_minute(size.limit_calls)
    with emulator(rate_limits=[f"{COMPLETE}={size.limit_calls}/{PERIOD_S:g}"]) as api:
        keys = [f"{PREFIX}-{i}" for i in range(size.triggers)]
        store_thumbnails(api.url, WORKSPACE, keys, visible=False)
        store_thumbnails(api.url, WORKSPACE, [WARM_KEY], visible=True)
        before = stats(api.url)
        with StatsSampler(api.url, period=0.1) as sampler:
            result = run_client(
                "benchmarks.clients.many_waiters",
                [
                    *("--url", api.url, "--count", str(size.triggers), "--interval", str(size.interval)),
                    *("--prefix", PREFIX, "--warm-key", WARM_KEY, "--settle", str(size.settle)),
                    *client_args(),
                ],
                env={
                    "AIRFLOW_CONN_NCP_MI_DEFAULT": api.connection_json(complete_calls_per_minute=per_minute)
                },
            )
        after = stats(api.url)
    flip = result["flip_start"]
    throttled = after["throttled"][COMPLETE] - before["throttled"][COMPLETE]
    throttled_times = sampler.throttled_times(flip)
    fired = result["events_by_status"].get("success", 0)
    all_fired = fired == size.triggers
    drain = max(result["event_times"]) - flip if result["event_times"] else 0.0
    admitted_before = [
        permit
        for permit, _, answer, was_throttled, _ in result["attempts"]
        if answer < flip and not was_throttled
    ]
    average_minimum = size.triggers / (size.limit_calls / PERIOD_S)
    # The window has room for every call only when the limit is not saturated (the smoke size).
    minimum = minimum_drain(admitted_before, size.triggers, size.limit_calls, flip) or average_minimum
    waves = -(-size.triggers // size.limit_calls)
    memory_bytes = result["rss_settled_bytes"] - result["rss_before_bytes"]
    drain_ratio = ratio(drain, minimum)
    return {
        "many_waiters": measured(
            what=f"{size.triggers} deferred PersonThumbnailUploadTriggers in one asyncio loop against an "
            f"emulator enforcing {size.limit_calls} calls per {PERIOD_S:g} s (the API's per-minute limit, "
            f"time / {TIME_SCALE}), every key turning COMPLETED at one moment: 429s, triggers fired, time "
            "to drain vs the limit's theoretical minimum, memory per waiting trigger.",
            method=METHOD.format(
                period=PERIOD_S,
                scale=TIME_SCALE,
                client_per_minute=per_minute,
                limiter=client_limiter(size.limit_calls),
                waves=waves,
                low=(waves - 1) * PERIOD_S,
                high=waves * PERIOD_S,
                average=average_minimum,
                **size.__dict__,
            ),
            unit="s",
            sides={
                "drain": {
                    "value": round(drain, 3),
                    "fired": fired,
                    "emulator_429s": throttled,
                    "kib_per_waiting_trigger": round(memory_bytes / size.triggers / 1024, 2),
                },
                "minimum": {"value": round(minimum, 3)},
            },
            ratio=drain_ratio,
            ratio_of="drain / minimum",
            goal=GOAL,
            criteria={"no_429s": throttled == 0, "all_fired": all_fired},
            also=f"{throttled} 429s, {fired} of {size.triggers} fired, "
            f"{memory_bytes / size.triggers / 1024:.1f} KiB per waiting trigger",
            details={
                "triggers": size.triggers,
                "poke_interval_s": size.interval,
                "fired": fired,
                "events_by_status": result["events_by_status"],
                "events_before_flip": result["events_before_flip"],
                "still_waiting_at_the_end": result["still_waiting"],
                "made_visible": result["made_visible"],
                "flip_request_s": round(result["flip_end"] - flip, 3),
                "fired_by_s_after_flip": _fired_by(result["event_times"], flip, size.triggers),
                "minimum_s": round(minimum, 3),
                "emulator_window_at_flip": sum(flip - PERIOD_S < at <= flip for at in admitted_before),
                "vs_average_rate_minimum": {
                    "minimum_s": average_minimum,
                    "definition": f"{size.triggers} calls / ({size.limit_calls} / {PERIOD_S:g} s), as if the "
                    "calls were spread evenly; a client that sends waves can beat it",
                    "ratio": round(ratio(drain, average_minimum) or 0.0, 4),
                },
                "emulator_429s": throttled,
                "emulator_429s_before_flip": sum(at < 0 for at in throttled_times),
                "emulator_429s_s_after_flip_sampled": [at for at in throttled_times if at >= 0][:50],
                "client_429_answers": len(result["throttled_times"]),
                "client_other_failures": result["failure_count"],
                "client_other_failures_first": result["failures"],
                "all_polled_s_after_start": result["all_polled_s"],
                "memory": {
                    "rss_before_mib": round(result["rss_before_bytes"] / 2**20, 1),
                    "rss_growth_all_polled_mib": round(
                        (result["rss_all_polled_bytes"] - result["rss_before_bytes"]) / 2**20, 2
                    ),
                    "rss_growth_settled_mib": round(memory_bytes / 2**20, 2),
                    "kib_per_waiting_trigger": round(memory_bytes / size.triggers / 1024, 2),
                    "rss_mib_by_s_after_start": [
                        [at, round(value / 2**20, 1)] for at, value in result["rss_samples"]
                    ],
                },
                "admitted_per_second_after_flip": sampler.admitted_series(flip, 1.0),
                "client_cpu_s": result["cpu_s"],
                "limiter": limiter_diagnosis(result, size.limit_calls, flip, "the flip"),
            },
        )
    }
