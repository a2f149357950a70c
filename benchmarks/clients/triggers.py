"""
Many waiting triggers in one asyncio loop, as the triggerer runs them: CPU per poll, RSS growth.

``--side ours`` runs ``MediaIntelligencePersonThumbnailUploadTrigger``s (the server answers
``FILE_NOT_EXIST``), ``--side http`` runs ``HttpSensorTrigger``s of apache-airflow-providers-http
(the server answers 404); both keep polling. Each trigger's ``run()`` is consumed by its own task,
as the triggerer's ``run_trigger`` does; starts are spread over the first interval, as triggers
arrive over time.
After a warm-up, CPU (``time.process_time``) and polls (counted by the server) are taken over a
window; RSS growth is the RSS at the end of the window minus the RSS before any trigger existed.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.clients.common import WORKSPACE, configure_airflow_logging, parser, rss_bytes, write_result

#: What the server counts for each side's polls.
COUNTER = {"ours": "complete", "http": "probe"}


def make_triggers(side: str, count: int, interval: float, prefix: str = "bench") -> list[Any]:
    """``count`` triggers of one side, each waiting for its own key."""
    if side == "ours":
        from airflow_provider_mi.triggers.person_thumbnail import (
            MediaIntelligencePersonThumbnailUploadTrigger,
        )

        return [
            MediaIntelligencePersonThumbnailUploadTrigger(
                thumbnail_key=f"persons/thumbnails/{prefix}-{i}.jpg",
                workspace_name=WORKSPACE,
                poke_interval=interval,
            )
            for i in range(count)
        ]
    from airflow.providers.http.triggers.http import HttpSensorTrigger

    return [HttpSensorTrigger(endpoint=f"probe/{prefix}-{i}", poke_interval=interval) for i in range(count)]


async def consume(trigger: Any, delay: float, events: list[Any]) -> None:
    """Run one trigger to its first event, as the triggerer does, after ``delay`` seconds."""
    await asyncio.sleep(delay)
    async for event in trigger.run():
        events.append(event)
        return


def server_count(url: str, counter: str) -> int:
    """The number of requests of one kind the server has answered."""
    with urllib.request.urlopen(f"{url}/_stats", timeout=10) as response:
        counts: dict[str, int] = json.load(response)
    return counts.get(counter, 0)


async def stop(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the tasks and wait for them (the triggers close their sessions)."""
    for task in tasks:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.gather(*tasks, return_exceptions=True)


async def warm_up_code_paths(url: str) -> None:
    """Run one trigger of each side through one poll, so lazy imports happen before the baseline."""
    for side in COUNTER:
        before = server_count(url, COUNTER[side])
        tasks = [
            asyncio.create_task(consume(trigger, 0, [])) for trigger in make_triggers(side, 1, 60, "warm")
        ]
        for _ in range(100):
            await asyncio.sleep(0.05)
            if server_count(url, COUNTER[side]) > before:
                break
        await asyncio.sleep(0.1)
        await stop(tasks)


async def run(
    side: str, url: str, count: int, interval: float, warmup: float, window: float
) -> dict[str, Any]:
    """Start ``count`` triggers, wait for the warm-up, then measure over the window."""
    await warm_up_code_paths(url)
    gc.collect()
    rss_before = rss_bytes()
    triggers = make_triggers(side, count, interval)
    events: list[Any] = []
    tasks = [
        asyncio.create_task(consume(trigger, i * interval / count, events), name=f"trigger-{i}")
        for i, trigger in enumerate(triggers)
    ]
    await asyncio.sleep(interval + warmup)
    polls_start = server_count(url, COUNTER[side])
    cpu_start, wall_start = time.process_time(), time.monotonic()
    await asyncio.sleep(window)
    cpu, wall = time.process_time() - cpu_start, time.monotonic() - wall_start
    polls = server_count(url, COUNTER[side]) - polls_start
    rss_after = rss_bytes()
    still_waiting = sum(not task.done() for task in tasks)
    await stop(tasks)
    return {
        "side": side,
        "triggers": count,
        "interval_s": interval,
        "window_s": round(wall, 3),
        "cpu_s": round(cpu, 4),
        "polls": polls,
        "expected_polls": round(count * wall / interval),
        "cores_used": round(cpu / wall, 3),
        "rss_before_bytes": rss_before,
        "rss_after_bytes": rss_after,
        "still_waiting": still_waiting,
        "events": len(events),
    }


def main() -> None:
    args = parser(__doc__)
    args.add_argument("--side", choices=sorted(COUNTER), required=True)
    args.add_argument("--url", required=True, help="base URL of the minimal server")
    args.add_argument("--count", type=int, default=1000)
    args.add_argument("--interval", type=float, default=1.0)
    args.add_argument("--warmup", type=float, default=3.0, help="seconds after the last start")
    args.add_argument("--window", type=float, default=10.0)
    options = args.parse_args()
    configure_airflow_logging(Path(options.out).with_suffix(".airflow.log"))
    import aiohttp  # noqa: F401 - imported by both sides before the baseline
    import airflow.providers.common.compat.connection
    import airflow.providers.http.triggers.http  # noqa: F401

    import airflow_provider_mi.triggers.person_thumbnail  # noqa: F401

    result = asyncio.run(
        run(options.side, options.url, options.count, options.interval, options.warmup, options.window)
    )
    write_result(options.out, result)


if __name__ == "__main__":
    main()
