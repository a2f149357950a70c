"""
Many deferred triggers in one asyncio loop, every key turning COMPLETED at one moment.

``--count`` ``MediaIntelligencePersonThumbnailUploadTrigger``s wait for keys the emulator holds
hidden (completion answers ``FILE_NOT_EXIST``), each ``run()`` consumed by its own task as the
triggerer does. They
share the loop's async hook and the process's limiter, which the emulator's limit saturates. Once
every trigger has polled at least once and ``--settle`` more seconds have passed, the RSS growth
since before the first trigger was made is taken; then ``POST /_emulator/complete-all`` flips
every key, and the time from the flip to each trigger's event is taken, until all have fired or
``--deadline`` seconds have passed. The limiter's slots and every attempt's answer are timed
(:mod:`benchmarks.clients.limits`). ``--minute-seconds`` sets the period the
``complete_calls_per_minute`` extra counts over.
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

from benchmarks.clients.common import (
    WORKSPACE,
    parser,
    rss_bytes,
    write_result,
)
from benchmarks.clients.limits import add_time_scale_argument, start_throttled_client
from benchmarks.emulator import control


def make_triggers(prefix: str, count: int, interval: float, answered: set[str]) -> list[Any]:
    """``count`` triggers, each waiting for its own key, noted in ``answered`` at its first answer."""
    from airflow_provider_mi.exceptions import MediaIntelligenceError
    from airflow_provider_mi.triggers.person_thumbnail import MediaIntelligencePersonThumbnailUploadTrigger

    class Observed(MediaIntelligencePersonThumbnailUploadTrigger):
        async def _check(self, hook: Any, key: str) -> Any:
            answer = await super()._check(hook, key)
            if not isinstance(answer, MediaIntelligenceError):
                answered.add(key)
            return answer

    return [
        Observed(thumbnail_key=f"{prefix}-{i}", workspace_name=WORKSPACE, poke_interval=interval)
        for i in range(count)
    ]


async def consume(trigger: Any, events: list[tuple[float, str]]) -> None:
    """Run one trigger to its first event, as the triggerer does; note when it came."""
    async for event in trigger.run():
        events.append((time.monotonic(), event.payload["status"]))
        return


async def warm_up(key: str) -> None:
    """Run one trigger on a ready key to its event, so lazy imports happen before the baseline."""
    from airflow_provider_mi.triggers.person_thumbnail import MediaIntelligencePersonThumbnailUploadTrigger

    events: list[tuple[float, str]] = []
    await consume(
        MediaIntelligencePersonThumbnailUploadTrigger(thumbnail_key=key, workspace_name=WORKSPACE), events
    )
    if not events or events[0][1] != "success":
        raise RuntimeError(f"the warm-up trigger did not succeed: {events!r}")


async def run(options: Any) -> dict[str, Any]:
    """Start the triggers, wait until all polled and settled, flip every key, wait for the events."""
    await warm_up(options.warm_key)
    gc.collect()
    rss_before = rss_bytes()
    answered: set[str] = set()  # the keys whose triggers have had an answer to a poll
    triggers = make_triggers(options.prefix, options.count, options.interval, answered)
    events: list[tuple[float, str]] = []
    started = time.monotonic()
    tasks = [asyncio.create_task(consume(trigger, events)) for trigger in triggers]
    rss_samples: list[tuple[float, int]] = []
    while len(answered) < options.count:
        await asyncio.sleep(0.25)
        rss_samples.append((time.monotonic() - started, rss_bytes()))
        if time.monotonic() - started > options.deadline:
            raise RuntimeError(f"only {len(answered)} triggers polled in {options.deadline} s")
    all_polled = time.monotonic()
    rss_all_polled = rss_bytes()
    await asyncio.sleep(options.settle)
    rss_settled = rss_bytes()
    early_events = len(events)
    flip_start = time.monotonic()
    flipped = await asyncio.to_thread(control, options.url, "complete-all", {})
    flip_end = time.monotonic()
    while len(events) < options.count and time.monotonic() - flip_end < options.deadline:
        await asyncio.sleep(0.05)
    still_waiting = [task for task in tasks if not task.done()]
    for task in still_waiting:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "triggers": options.count,
        "interval_s": options.interval,
        "started": round(started, 4),
        "all_polled_s": round(all_polled - started, 3),
        "flip_start": round(flip_start, 4),
        "flip_end": round(flip_end, 4),
        "made_visible": flipped.get("made_visible"),
        "events_before_flip": early_events,
        "event_times": [round(at, 4) for at, _ in events],
        "event_statuses": sorted({status for _, status in events}),
        "events_by_status": {
            status: sum(s == status for _, s in events) for status in {s for _, s in events}
        },
        "still_waiting": len(still_waiting),
        "rss_before_bytes": rss_before,
        "rss_all_polled_bytes": rss_all_polled,
        "rss_settled_bytes": rss_settled,
        "rss_samples": [[round(at, 2), value] for at, value in rss_samples[::4]],
    }


def main() -> None:
    args = parser(__doc__)
    args.add_argument("--url", required=True, help="the emulator's base URL (for complete-all)")
    args.add_argument("--count", type=int, default=5000)
    args.add_argument("--interval", type=float, default=1.0, help="the triggers' poke_interval")
    args.add_argument("--prefix", required=True, help="the keys are PREFIX-0 ... PREFIX-(count-1)")
    args.add_argument("--warm-key", required=True, help="a ready key for the warm-up trigger")
    args.add_argument("--settle", type=float, default=2.0, help="seconds after all polled, before the flip")
    args.add_argument("--deadline", type=float, default=180.0, help="give up waiting after this long")
    add_time_scale_argument(args)
    options = args.parse_args()
    recorder = start_throttled_client(options)
    cpu_start = time.process_time()
    result = asyncio.run(run(options))
    result["cpu_s"] = round(time.process_time() - cpu_start, 3)
    write_result(options.out, {**result, **recorder.result()})


if __name__ == "__main__":
    main()
