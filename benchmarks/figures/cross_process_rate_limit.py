"""
Figure ``cross_process_rate_limit`` (issue 14): client processes with threads and triggers sharing
one access key against an emulator enforcing the completion limit scaled down in time, each
process with its own limiter vs the limiter shared through Redis: the 429s of each, the rate
achieved with Redis as a fraction of the limit, and the CPU and time the Redis limiter adds to a
call.

The time scale is that of figures 3 and 4 (:mod:`benchmarks.figures.throttling`); each process is
the ``rate_limit`` figure's client at a quarter of its size.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from benchmarks import ROOT
from benchmarks.clients.common import WORKSPACE, mi_connection_json
from benchmarks.clients.redis_limiter_cost import CONN_IDS, REDIS_CONN_ID
from benchmarks.emulator import COMPLETE, StatsSampler, emulator, stats, store_thumbnails
from benchmarks.figures.rate_limit import sustained_rate
from benchmarks.figures.throttling import (
    PERIOD_S,
    TIME_SCALE,
    client_args,
    client_limiter,
    client_per_minute,
    limiter_diagnosis,
    mean_call_s,
)
from benchmarks.processes import BenchmarkError, child_env, run_client, server
from benchmarks.redis_server import Redis, redis_server
from benchmarks.report import Goal, measured
from benchmarks.stats import median, ratio

KEYS = ("cross_process_rate_limit",)
GOAL = Goal(
    ">=",
    0.95,
    "in-process: 429s; Redis: 0 429s, achieved / limit >= 0.95; added CPU and latency reported",
)
PREFIX = "persons/thumbnails/cross"
#: The limit sides: each process its own limiter, or one shared through Redis.
SIDES = ("in_process", "redis")
#: What a Redis-limited connection adds to its extras: the Redis connection, and no fallback (a
#: side that silently fell back to the process's limiter would measure the wrong thing).
REDIS_EXTRAS = {"rate_limit_redis_conn_id": REDIS_CONN_ID, "rate_limit_redis_fallback": "fail"}


@dataclass(frozen=True)
class Size:
    processes: int
    threads: int  # per process
    triggers: int  # per process
    calls: int  # per process
    limit_calls: int  # per PERIOD_S: the API's 1000 per minute, time-scaled
    cost_rounds: int
    cost_calls: int  # per side, kind (sync or async) and round
    cost_slots: int  # likewise


SIZES = {
    False: Size(
        processes=4,
        threads=2,
        triggers=50,
        calls=1000,
        limit_calls=1000,
        cost_rounds=8,
        cost_calls=200,
        cost_slots=500,
    ),
    True: Size(
        processes=2, threads=1, triggers=1, calls=2, limit_calls=2, cost_rounds=1, cost_calls=5, cost_slots=5
    ),
}

METHOD = (
    "Limit sides: per side a fresh emulator (another process) enforces {limit_calls} completions per "
    "{period:g} s (the API's {limit_calls} per minute, time divided by {scale}) with a strict "
    "sliding-window log, answering 429 beyond it. {processes} client processes share one connection "
    "(one access key and host), extra complete_calls_per_minute={client_per_minute} counted over "
    "{period:g} s in each (settings.RATE_LIMIT_EXTRAS patched at its start). Each process: {threads} "
    "threads, each with its own MediaIntelligenceHook, calling complete_person_thumbnail_upload while an "
    "asyncio loop in another thread keeps {triggers} PersonThumbnailUploadTriggers running (each key is "
    "ready, so each trigger makes one call and fires; a new one takes its place), {calls} calls in all "
    "from the process's own pool of keys. The processes start, import, read the connection, then print "
    "ready; once all {processes} have, one line to each starts them together. in_process: each process "
    "keeps its own limiter ({limiter}), as without Redis. redis: the connection also names a Redis "
    "connection (rate_limit_redis_conn_id; rate_limit_redis_fallback=fail, so no call can silently "
    "use the process's limiter) to one redis-server on 127.0.0.1, flushed before the side, so the "
    "{processes} processes share one such limiter. 429s: the emulator's throttled count (the hooks "
    "retry them). Achieved rate: {limit_calls} / the mean time from each admitted answer to the "
    "answer {limit_calls} later, over the answers of all the processes (the monotonic clock is the "
    "machine's), as in the rate_limit figure; ratio = Redis's achieved rate / the limit's rate "
    "({limit_calls} / {period:g} s). Cost: one more client process against the minimal server (no "
    "limit of its own) with two connections that differ only in the Redis extras, their completion "
    "limit above every call the process makes (the limiters never wait, neither side is bound by the "
    "limit); {cost_rounds} interleaved rounds, each {cost_calls} completion calls per side with the "
    "sync hook, then with the async hook (awaited one after another in one event loop); client CPU "
    "per call (time.process_time), median of the rounds; added CPU = redis - in_process. Added "
    "latency: the same process, one caller at a time, {cost_slots} slots per side, kind and round "
    "taken and left with nothing inside (time.perf_counter from asking for the slot until it is given, "
    "plus from leaving it until it is given back), median per round, median of the rounds; added "
    "latency = redis - in_process. The redis-server's own CPU per slot is in details."
)


def _wait_ready(stream: IO[str], ready: threading.Event) -> None:
    for line in stream:
        if line.strip() == "ready":
            ready.set()


def run_together(
    module: str, args_by_process: Sequence[Sequence[str]], env: Mapping[str, str], timeout: float = 300.0
) -> tuple[list[dict[str, Any]], float]:
    """
    Run ``python -m module --start-on-stdin --out FILE *args`` once per args, started together.

    Each process prints ``ready`` when it is; once every one has, a line to each starts them all.
    Returns their JSON results and the monotonic time the start was sent.
    """
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory(prefix="mi-bench-") as tmp:
        running: list[tuple[subprocess.Popen[str], Path, Path, threading.Event]] = []
        try:
            for number, args in enumerate(args_by_process):
                out, log = Path(tmp) / f"result-{number}.json", Path(tmp) / f"client-{number}.log"
                with log.open("w") as log_file:
                    process = subprocess.Popen(
                        [sys.executable, "-m", module, "--start-on-stdin", "--out", str(out), *args],
                        cwd=ROOT,
                        env=child_env(env),
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=log_file,
                        text=True,
                    )
                ready = threading.Event()
                assert process.stdout is not None
                threading.Thread(target=_wait_ready, args=(process.stdout, ready), daemon=True).start()
                running.append((process, out, log, ready))
            for process, _, log, ready in running:
                while not ready.wait(0.1):
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise BenchmarkError(f"{module} never got ready:\n{_tail(log)}")
            started = time.monotonic()
            for process, *_ in running:
                assert process.stdin is not None
                process.stdin.write("go\n")
                process.stdin.close()
            results = []
            for process, out, log, _ in running:
                try:
                    code = process.wait(max(1.0, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    raise BenchmarkError(f"{module} took more than {timeout:g} s:\n{_tail(log)}") from None
                if code != 0 or not out.exists():
                    logs = [log, *sorted(Path(tmp).glob(f"{out.stem}.*.log"))]
                    raise BenchmarkError(
                        f"{module} failed (exit {code}):\n" + "\n".join(_tail(path) for path in logs)
                    )
                results.append(json.loads(out.read_text()))
            return results, started
        finally:
            for process, *_ in running:
                if process.poll() is None:
                    process.kill()
                    process.wait()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return f"{path.name}:\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"{path.name}: (no output)"


def limit_side(side: str, size: Size, redis: Redis) -> dict[str, Any]:
    """Run the processes of one limit side against a fresh emulator; its 429s, rate and diagnosis."""
    per_minute = client_per_minute(size.limit_calls)
    extras: dict[str, Any] = {"complete_calls_per_minute": per_minute}
    if side == "redis":
        extras.update(REDIS_EXTRAS)
        redis.flush()
    prefixes = [f"{PREFIX}-{side}-{number}" for number in range(size.processes)]
    with emulator(rate_limits=[f"{COMPLETE}={size.limit_calls}/{PERIOD_S:g}"]) as api:
        for prefix in prefixes:
            store_thumbnails(api.url, WORKSPACE, [f"{prefix}-{i}" for i in range(size.calls)], visible=True)
        before, redis_cpu = stats(api.url), redis.cpu_seconds()
        with StatsSampler(api.url) as sampler:
            results, started = run_together(
                "benchmarks.clients.rate_limit",
                [
                    [
                        *("--threads", str(size.threads), "--triggers", str(size.triggers)),
                        *("--calls", str(size.calls), "--prefix", prefix),
                        *client_args(),
                    ]
                    for prefix in prefixes
                ],
                env={
                    "AIRFLOW_CONN_NCP_MI_DEFAULT": api.connection_json(**extras),
                    f"AIRFLOW_CONN_{REDIS_CONN_ID.upper()}": redis.url,
                },
            )
        after = stats(api.url)
        redis_cpu = redis.cpu_seconds() - redis_cpu
    answers = sorted(at for result in results for at in result["answer_times"])
    merged = {"attempts": [attempt for result in results for attempt in result["attempts"]]}
    throttled = after["throttled"][COMPLETE] - before["throttled"][COMPLETE]
    achieved = sustained_rate(answers, size.limit_calls)
    mean_call = mean_call_s(merged) or 0.0
    client_cpu = sum(result["cpu_s"] for result in results)
    return {
        "value": round(achieved or 0.0, 2),
        "emulator_429s": throttled,
        "emulator_admitted": after["admitted"][COMPLETE] - before["admitted"][COMPLETE],
        "calls_answered": len(answers),
        "client_429_answers": sum(len(result["throttled_times"]) for result in results),
        "client_other_failures": sum(result["failure_count"] for result in results),
        "client_other_failures_first": [failure for result in results for failure in result["failures"]][:10],
        "duration_s": round(answers[-1] - started, 3) if answers else None,
        "client_cpu_s": round(client_cpu, 3),
        "client_cpu_us_per_answered_call": round(client_cpu / len(answers) * 1e6, 1) if answers else None,
        "redis_server_cpu_s": round(redis_cpu, 3),
        "per_process": [
            {
                "answered": len(result["answer_times"]),
                "calls_by_side": result["calls_by_side"],
                "outcomes_by_side": result["outcomes_by_side"],
                "cpu_s": result["cpu_s"],
                "start_lag_ms": round((result["started"] - started) * 1000, 1),
            }
            for result in results
        ],
        "emulator_429s_s_after_start_sampled": sampler.throttled_times(started)[:50],
        "admitted_per_second_from_start": sampler.admitted_series(started, 1.0),
        "about_the_best_ratio_for_this_limiter": round(PERIOD_S / (PERIOD_S + mean_call), 4),
        "limiter": limiter_diagnosis(merged, size.limit_calls, started, "the start"),
    }


def cost(size: Size, redis: Redis) -> dict[str, Any]:
    """The Redis limiter's added CPU and time per call, against the process's own limiter."""
    redis.flush()
    with server(
        ["-m", "benchmarks.minimal_server", "--upload-status", "COMPLETED"], ready=r"(http://\S+)"
    ) as running:
        url = running.match.group(1)
        redis_conn = json.loads(mi_connection_json(url))
        redis_conn["extra"].update(REDIS_EXTRAS)
        result = run_client(
            "benchmarks.clients.redis_limiter_cost",
            [
                *("--rounds", str(size.cost_rounds), "--calls", str(size.cost_calls)),
                *("--slots", str(size.cost_slots)),
            ],
            env={
                f"AIRFLOW_CONN_{CONN_IDS['in_process'].upper()}": mi_connection_json(url),
                f"AIRFLOW_CONN_{CONN_IDS['redis'].upper()}": json.dumps(redis_conn),
                f"AIRFLOW_CONN_{REDIS_CONN_ID.upper()}": redis.url,
            },
        )
    kinds = ("sync", "async")
    cpu = {
        kind: {side: median(rounds) for side, rounds in result["cpu_us_per_call_by_round"][kind].items()}
        for kind in kinds
    }
    slot = {
        kind: {
            side: {name: median([one[name] for one in rounds]) for name in rounds[0]}
            for side, rounds in result["slot_by_round"][kind].items()
        }
        for kind in kinds
    }
    return {
        "limiter_classes": result["limiter_classes"],
        "added_cpu_us_per_call": {
            kind: round(cpu[kind]["redis"] - cpu[kind]["in_process"], 1) for kind in kinds
        },
        "added_latency_us_per_call": {
            kind: round(
                slot[kind]["redis"]["acquire_and_release_us"]
                - slot[kind]["in_process"]["acquire_and_release_us"],
                1,
            )
            for kind in kinds
        },
        "cpu_us_per_call": {
            kind: {side: round(value, 1) for side, value in cpu[kind].items()} for kind in kinds
        },
        "cpu_us_per_call_by_round": {
            kind: {side: [round(value, 1) for value in rounds] for side, rounds in by_side.items()}
            for kind, by_side in result["cpu_us_per_call_by_round"].items()
        },
        "slot_alone_us": {
            kind: {
                side: {name: round(value, 1) for name, value in figures.items()}
                for side, figures in by_side.items()
            }
            for kind, by_side in slot.items()
        },
        "redis_server_cpu_us_per_slot": round(result["redis_server_cpu_us_per_slot"], 1),
        "calls_per_round": result["calls_per_round"],
        "slots_per_round": result["slots_per_round"],
    }


def measure(smoke: bool = False) -> dict[str, dict[str, Any]]:
    """Both limit sides, then the cost; build the entry."""
    size = SIZES[smoke]
    timings: dict[str, float] = {}
    with redis_server() as redis:
        sides: dict[str, dict[str, Any]] = {}
        for side in SIDES:
            started = time.monotonic()
            sides[side] = limit_side(side, size, redis)
            timings[side] = round(time.monotonic() - started, 1)
        started = time.monotonic()
        costs = cost(size, redis)
        timings["cost"] = round(time.monotonic() - started, 1)
    limit_rate = size.limit_calls / PERIOD_S
    shared = sides["redis"]
    rate_ratio = ratio(shared["value"], limit_rate) if shared["value"] else None
    added_cpu, added_latency = costs["added_cpu_us_per_call"], costs["added_latency_us_per_call"]
    return {
        "cross_process_rate_limit": measured(
            what=f"{size.processes} client processes ({size.threads} threads and {size.triggers} triggers "
            f"each) sharing one access key against an emulator enforcing {size.limit_calls} completions per "
            f"{PERIOD_S:g} s (the API's per-minute limit, time / {TIME_SCALE}): each process with its own "
            "limiter vs the limiter shared through Redis; 429s, the achieved rate with Redis as a fraction "
            "of the limit, and the Redis limiter's added CPU and latency per call.",
            method=METHOD.format(
                period=PERIOD_S,
                scale=TIME_SCALE,
                client_per_minute=client_per_minute(size.limit_calls),
                limiter=client_limiter(size.limit_calls),
                **size.__dict__,
            ),
            unit="calls/s",
            sides={
                **sides,
                "limit": {"value": round(limit_rate, 2)},
            },
            ratio=rate_ratio,
            ratio_of="redis achieved / limit",
            goal=GOAL,
            criteria={
                "in_process_draws_429s": sides["in_process"]["emulator_429s"] > 0,
                "redis_no_429s": shared["emulator_429s"] == 0,
            },
            also=f"429s: in-process {sides['in_process']['emulator_429s']}, Redis {shared['emulator_429s']}; "
            f"Redis adds per call {added_cpu['sync']:.0f} us CPU, {added_latency['sync']:.0f} us (threads), "
            f"{added_cpu['async']:.0f} us, {added_latency['async']:.0f} us (asyncio)",
            details={
                "calls": size.processes * size.calls,
                "cost": costs,
                "duration_s_by_part": timings,
            },
        )
    }
