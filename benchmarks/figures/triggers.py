"""
Figure 2, ``trigger_cpu_per_poll_ratio`` and ``trigger_rss_ratio``: 1000 waiting
``MediaIntelligencePersonThumbnailUploadTrigger``s vs 1000 ``HttpSensorTrigger``s in one loop, same
server, same interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import Any

from benchmarks.clients.common import mi_connection_json
from benchmarks.processes import BenchmarkError, run_client, server
from benchmarks.report import FAILED, Goal, measured, not_measured
from benchmarks.stats import median, ratio

KEYS = ("trigger_cpu_per_poll_ratio", "trigger_rss_ratio")
CPU_GOAL = Goal("<=", 0.5, "<= 0.5 (aim 0.3)")
RSS_GOAL = Goal("<=", 0.5, "<= 0.5")
SIDES = ("ours", "http")
SIDE_NAMES = {"ours": "MediaIntelligencePersonThumbnailUploadTrigger", "http": "HttpSensorTrigger"}


@dataclass(frozen=True)
class Size:
    rounds: int
    count: int
    interval: float
    warmup: float
    window: float


SIZES = {
    False: Size(rounds=5, count=1000, interval=2.0, warmup=2.0, window=10.0),
    True: Size(rounds=1, count=5, interval=0.1, warmup=0.1, window=0.3),
}

METHOD = (
    "Each side in its own process (a fresh interpreter per side and round; sides alternate over "
    "{rounds} rounds; median per side). {count} triggers, each run() consumed by its own asyncio "
    "task as the triggerer does, starts spread over the first interval, poke_interval "
    "{interval:g} s, logging as Airflow 3's trigger runner does (JSON lines to an unbuffered "
    "socket, drained by another process as the supervisor does). The minimal server (another "
    "process) answers FILE_NOT_EXIST to ours and 404 to theirs, so both keep polling, and counts "
    "the polls. After a {warmup:g} s warm-up: CPU (time.process_time) over a {window:g} s window "
    "divided by the polls the server answered in it; RSS growth is the RSS at the end of the "
    "window minus the RSS before any trigger was made (the modules of both sides imported and one"
    " trigger of each run once before that baseline). Our connection sets complete_calls_per_minute "
    "(the shared client-side limiter's slots, each free 60 s after its call's answer) above all the "
    "polls a process makes, so the limiter never waits (its bookkeeping per poll is counted) and "
    "both sides poll at the same rate."
)


def _missing_http_provider() -> str | None:
    try:
        metadata.version("apache-airflow-providers-http")
    except metadata.PackageNotFoundError:
        return "apache-airflow-providers-http is not installed (scripts/bench installs the `bench` extra)"
    return None


def _run_rounds(size: Size) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    with server(
        ["-m", "benchmarks.minimal_server", "--upload-status", "FAILED"], ready=r"(http://\S+)"
    ) as up:
        url = up.match.group(1)
        env = {"AIRFLOW_CONN_NCP_MI_DEFAULT": mi_connection_json(url), "AIRFLOW_CONN_HTTP_DEFAULT": url}
        for round_number in range(size.rounds):
            order = SIDES if round_number % 2 == 0 else SIDES[::-1]
            for side in order:
                args = ["--side", side, "--url", url, "--count", str(size.count)]
                args += ["--interval", str(size.interval), "--warmup", str(size.warmup)]
                args += ["--window", str(size.window)]
                runs[side].append(run_client("benchmarks.clients.triggers", args, env=env))
    return runs


def _cpu_side(runs: list[dict[str, Any]]) -> dict[str, Any]:
    if not all(run["polls"] for run in runs):
        raise BenchmarkError(f"a side answered no poll in its window: {runs!r}")
    per_poll = [run["cpu_s"] / run["polls"] * 1e6 for run in runs]
    return {
        "value": round(median(per_poll), 1),
        "cpu_us_per_poll_by_round": [round(value, 1) for value in per_poll],
        "polls_by_round": [run["polls"] for run in runs],
        "expected_polls_by_round": [run["expected_polls"] for run in runs],
        "cores_used_by_round": [run["cores_used"] for run in runs],
        "still_waiting_by_round": [run["still_waiting"] for run in runs],
    }


def _rss_side(runs: list[dict[str, Any]], count: int) -> dict[str, Any]:
    growth = [(run["rss_after_bytes"] - run["rss_before_bytes"]) / 2**20 for run in runs]
    return {
        "value": round(median(growth), 2),
        "kib_per_trigger": round(median(growth) * 1024 / count, 1),
        "rss_growth_mib_by_round": [round(value, 2) for value in growth],
        "rss_before_mib_by_round": [round(run["rss_before_bytes"] / 2**20, 1) for run in runs],
    }


def measure(smoke: bool = False) -> dict[str, dict[str, Any]]:
    """Run both sides in alternating rounds against one minimal server; build both entries."""
    size = SIZES[smoke]
    missing = _missing_http_provider()
    if missing:
        return {
            key: not_measured(what=key, goal=goal.text, reason=missing, harness=__name__, status=FAILED)
            for key, goal in ((KEYS[0], CPU_GOAL), (KEYS[1], RSS_GOAL))
        }
    runs = _run_rounds(size)
    cpu_sides = {side: _cpu_side(runs[side]) for side in SIDES}
    rss_sides = {side: _rss_side(runs[side], size.count) for side in SIDES}
    method = METHOD.format(**size.__dict__)
    common = {
        "triggers": size.count,
        "poke_interval_s": size.interval,
        "sides_are": SIDE_NAMES,
    }
    return {
        "trigger_cpu_per_poll_ratio": measured(
            what=f"CPU per poll of {size.count} waiting PersonThumbnailUploadTriggers vs as many "
            "HttpSensorTriggers in one asyncio loop, same server, same interval.",
            method=method,
            unit="CPU us per poll",
            sides=cpu_sides,
            ratio=ratio(cpu_sides["ours"]["value"], cpu_sides["http"]["value"]),
            ratio_of="ours / http",
            goal=CPU_GOAL,
            details=common,
        ),
        "trigger_rss_ratio": measured(
            what=f"RSS growth of a process running {size.count} waiting PersonThumbnailUploadTriggers "
            "vs as many HttpSensorTriggers.",
            method=method,
            unit="MiB",
            sides=rss_sides,
            ratio=ratio(rss_sides["ours"]["value"], rss_sides["http"]["value"]),
            ratio_of="ours / http",
            goal=RSS_GOAL,
            details=common,
        ),
    }
