"""
What the limiter shared through Redis costs a call, against this process's own: CPU and time.

Two connections to the same server differ only in the extra ``rate_limit_redis_conn_id``:
``in_process`` (the process's limiter) and ``redis``. Their completion limit is above every call
the process makes, so neither limiter waits: what is measured is its bookkeeping. Each round runs
a batch of completion calls per side with the sync hook, then with the async hook (awaited one
after another in one event loop), sides in rotating order; CPU is ``time.process_time``. Then the
limiter alone, one caller at a time: the time from asking for a slot until it is given and from
leaving it until it is given back (``time.perf_counter``), and the CPU per slot. The Redis server's
CPU over the rounds comes from its ``INFO cpu``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from benchmarks.clients.common import WORKSPACE, configure_airflow_logging, parser, write_result
from benchmarks.stats import median, rotated

THUMBNAIL_KEY = "persons/thumbnails/bench.jpg"
WARMUP_CALLS = 30
#: The MI connections of the two sides (``AIRFLOW_CONN_<ID>``) and the Redis connection of the second.
CONN_IDS = {"in_process": "mi_in_process", "redis": "mi_redis_limited"}
REDIS_CONN_ID = "mi_bench_redis"


def cpu_per_call(call: Callable[[], Any], calls: int) -> float:
    """CPU microseconds per call of ``call``, over ``calls`` calls."""
    started = time.process_time()
    for _ in range(calls):
        call()
    return (time.process_time() - started) / calls * 1e6


async def cpu_per_call_async(call: Callable[[], Awaitable[Any]], calls: int) -> float:
    """CPU microseconds per call of the coroutine function ``call``, awaited ``calls`` times in turn."""
    started = time.process_time()
    for _ in range(calls):
        await call()
    return (time.process_time() - started) / calls * 1e6


def time_slots(limiter: Any, count: int) -> dict[str, float]:
    """Median microseconds to get a slot, to give it back, both; CPU microseconds per slot."""
    acquire, release = [], []
    cpu = time.process_time()
    for _ in range(count):
        asked = time.perf_counter()
        with limiter.slot():
            given = time.perf_counter()
        acquire.append(given - asked)
        release.append(time.perf_counter() - given)
    return _slot_figures(acquire, release, time.process_time() - cpu)


async def time_slots_async(limiter: Any, count: int) -> dict[str, float]:
    """As :func:`time_slots`, with ``slot_async`` in the running event loop."""
    acquire, release = [], []
    cpu = time.process_time()
    for _ in range(count):
        asked = time.perf_counter()
        async with limiter.slot_async():
            given = time.perf_counter()
        acquire.append(given - asked)
        release.append(time.perf_counter() - given)
    return _slot_figures(acquire, release, time.process_time() - cpu)


def _slot_figures(acquire: list[float], release: list[float], cpu: float) -> dict[str, float]:
    return {
        "acquire_us": median(acquire) * 1e6,
        "release_us": median(release) * 1e6,
        "acquire_and_release_us": median([a + r for a, r in zip(acquire, release, strict=True)]) * 1e6,
        "cpu_us": cpu / len(acquire) * 1e6,
    }


def redis_cpu_s() -> float:
    """The Redis server's CPU so far (user and system), read through the Redis connection's URL."""
    import redis

    with redis.Redis.from_url(os.environ[f"AIRFLOW_CONN_{REDIS_CONN_ID.upper()}"]) as client:
        info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def measure(rounds: int, calls: int, slots: int) -> dict[str, Any]:
    """Every round of both measures; the numbers by side."""
    from airflow_provider_mi.core.rate_limit import COMPLETE_UPLOAD
    from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceAsyncHook, MediaIntelligenceHook

    hooks = {side: MediaIntelligenceHook(conn_id) for side, conn_id in CONN_IDS.items()}
    limiters = {side: hook.settings.limiter(COMPLETE_UPLOAD) for side, hook in hooks.items()}
    kinds = {name: type(limiter).__name__ for name, limiter in limiters.items()}
    loop = asyncio.new_event_loop()
    async_hooks = {side: MediaIntelligenceAsyncHook(conn_id) for side, conn_id in CONN_IDS.items()}

    def sync_call(side: str) -> Callable[[], Any]:
        return lambda: hooks[side].complete_person_thumbnail_upload(WORKSPACE, THUMBNAIL_KEY)

    def async_call(side: str) -> Callable[[], Awaitable[Any]]:
        return lambda: async_hooks[side].complete_person_thumbnail_upload(WORKSPACE, THUMBNAIL_KEY)

    for side in CONN_IDS:  # connections read, Redis scripts loaded, sessions open
        cpu_per_call(sync_call(side), WARMUP_CALLS)
        loop.run_until_complete(cpu_per_call_async(async_call(side), WARMUP_CALLS))
        time_slots(limiters[side], WARMUP_CALLS)
        loop.run_until_complete(time_slots_async(limiters[side], WARMUP_CALLS))
    cpu: dict[str, dict[str, list[float]]] = {"sync": {}, "async": {}}
    slot: dict[str, dict[str, list[dict[str, float]]]] = {"sync": {}, "async": {}}
    server_cpu = redis_cpu_s()
    for number in range(rounds):
        for side in rotated(list(CONN_IDS), number):
            cpu["sync"].setdefault(side, []).append(cpu_per_call(sync_call(side), calls))
            cpu["async"].setdefault(side, []).append(
                loop.run_until_complete(cpu_per_call_async(async_call(side), calls))
            )
        for side in rotated(list(CONN_IDS), number):
            slot["sync"].setdefault(side, []).append(time_slots(limiters[side], slots))
            slot["async"].setdefault(side, []).append(
                loop.run_until_complete(time_slots_async(limiters[side], slots))
            )
    server_cpu = redis_cpu_s() - server_cpu
    for side in CONN_IDS:
        hooks[side].close()
        loop.run_until_complete(async_hooks[side].close())
    loop.close()
    return {
        "limiter_classes": kinds,
        "cpu_us_per_call_by_round": cpu,
        "slot_by_round": slot,
        # The Redis side takes two slots per call (sync and async) and two alone, per round.
        "redis_server_cpu_us_per_slot": server_cpu / (rounds * 2 * (calls + slots)) * 1e6,
    }


def main() -> None:
    args = parser(__doc__)
    args.add_argument("--rounds", type=int, default=8)
    args.add_argument("--calls", type=int, default=200, help="completion calls per side, kind and round")
    args.add_argument("--slots", type=int, default=500, help="slots timed per side, kind and round")
    options = args.parse_args()
    configure_airflow_logging(Path(options.out).with_suffix(".airflow.log"))
    result = measure(options.rounds, options.calls, options.slots)
    write_result(options.out, {**result, "calls_per_round": options.calls, "slots_per_round": options.slots})


if __name__ == "__main__":
    main()
