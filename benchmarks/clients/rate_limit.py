"""
A burst of completion calls from many threads and many triggers of one process, through one limit.

``--threads`` threads, each with its own ``MediaIntelligenceHook``, call
``complete_person_thumbnail_upload``; meanwhile an asyncio loop in another thread keeps
``--triggers`` ``MediaIntelligencePersonThumbnailUploadTrigger``s running, each consumed by its own
task as the triggerer does, a new one taking the place of each that fired. Every key is ready (stored visible
on the emulator), so each trigger makes one call and fires. All take the next key from one pool of
``--calls`` keys, so the total is fixed and the faster side makes more of them. They start
together, after the modules are imported and the hooks have read the connection (with
``--start-on-stdin``, once the process then printed ``ready`` and read a line: so that several
processes start together). The limiter's slots and every attempt's answer are timed
(:mod:`benchmarks.clients.limits`). ``--minute-seconds`` sets the period the
``complete_calls_per_minute`` extra counts over.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections import Counter
from typing import Any

from benchmarks.clients.common import (
    WORKSPACE,
    parser,
    write_result,
)
from benchmarks.clients.limits import add_time_scale_argument, start_throttled_client


class KeyPool:
    """The keys to complete, handed out once each to whichever thread or trigger asks first."""

    def __init__(self, prefix: str, count: int) -> None:
        self.prefix, self.count, self.next = prefix, count, 0
        self.lock = threading.Lock()
        self.taken: Counter[str] = Counter()

    def take(self, side: str) -> str | None:
        with self.lock:
            if self.next >= self.count:
                return None
            self.next += 1
            self.taken[side] += 1
            return f"{self.prefix}-{self.next - 1}"


class StartOnStdin(threading.Barrier):
    """A barrier that, once every party reached it, prints ``ready`` and waits for a line on stdin."""

    def __init__(self, parties: int) -> None:
        super().__init__(parties, action=self._ready)

    @staticmethod
    def _ready() -> None:
        print("ready", flush=True)
        sys.stdin.readline()


def thread_side(pool: KeyPool, start: threading.Barrier, outcomes: Counter[str]) -> None:
    """One thread: its own hook, completing keys from the pool until it is empty."""
    from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook

    hook = MediaIntelligenceHook()
    hook.settings  # noqa: B018 - read the connection before the start
    start.wait()
    while (key := pool.take("threads")) is not None:
        try:
            outcomes[hook.complete_person_thumbnail_upload(WORKSPACE, key).raw_status] += 1
        except Exception as err:
            outcomes[type(err).__name__] += 1
    hook.close()


async def trigger_side(pool: KeyPool, triggers: int, outcomes: Counter[str]) -> None:
    """``triggers`` trigger slots: each runs a trigger for the next key to its event, then the next."""
    from airflow_provider_mi.triggers.person_thumbnail import MediaIntelligencePersonThumbnailUploadTrigger

    async def slot() -> None:
        while (key := pool.take("triggers")) is not None:
            trigger = MediaIntelligencePersonThumbnailUploadTrigger(
                thumbnail_key=key, workspace_name=WORKSPACE, poke_interval=1
            )
            async for event in trigger.run():
                outcomes[event.payload["status"]] += 1
                break

    await asyncio.gather(*(slot() for _ in range(triggers)))


def run_triggers(pool: KeyPool, triggers: int, start: threading.Barrier, outcomes: Counter[str]) -> None:
    start.wait()
    asyncio.run(trigger_side(pool, triggers, outcomes))


def main() -> None:
    args = parser(__doc__)
    args.add_argument("--threads", type=int, default=8)
    args.add_argument("--triggers", type=int, default=200)
    args.add_argument("--calls", type=int, default=3000)
    args.add_argument("--prefix", required=True, help="the keys are PREFIX-0 ... PREFIX-(calls-1)")
    args.add_argument("--start-on-stdin", action="store_true", help="once ready, print so, start on a line")
    add_time_scale_argument(args)
    options = args.parse_args()
    recorder = start_throttled_client(options)
    pool = KeyPool(options.prefix, options.calls)
    start = (StartOnStdin if options.start_on_stdin else threading.Barrier)(options.threads + 2)
    outcomes: dict[str, Counter[str]] = {"threads": Counter(), "triggers": Counter()}
    workers = [
        threading.Thread(target=thread_side, args=(pool, start, outcomes["threads"]), name=f"caller-{i}")
        for i in range(options.threads)
    ]
    workers.append(
        threading.Thread(
            target=run_triggers, args=(pool, options.triggers, start, outcomes["triggers"]), name="triggers"
        )
    )
    for worker in workers:
        worker.start()
    start.wait()
    started = time.monotonic()
    cpu_start = time.process_time()
    for worker in workers:
        worker.join()
    ended = time.monotonic()
    result: dict[str, Any] = {
        "threads": options.threads,
        "triggers": options.triggers,
        "calls": options.calls,
        "started": round(started, 4),
        "ended": round(ended, 4),
        "cpu_s": round(time.process_time() - cpu_start, 3),
        "calls_by_side": dict(pool.taken),
        "outcomes_by_side": {side: dict(counts) for side, counts in outcomes.items()},
        **recorder.result(),
    }
    write_result(options.out, result)


if __name__ == "__main__":
    main()
