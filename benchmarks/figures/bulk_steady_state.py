"""
Figure ``bulk_steady_state`` (issue 14): a batch of 5000 images through
``MediaIntelligenceBulkUploadPersonThumbnailsOperator`` with a manifest, against an emulator
enforcing the API's limits with time divided by 10, as figures 3 and 4 run: the completion rate it
sustains once the first period's burst is spent, as a fraction of the limit, and the 429s drawn.

Each image needs one presigned URL and one completion; the API allows 50 presigned URLs a second
and 1000 completions a minute, so completions bind (16.7 a second against 50). Time-scaled, the
emulator allows 1000 completions per 6 s and 50 presigned URLs per 0.1 s, and the client process
counts its connection's limits over the same periods (:mod:`benchmarks.clients.bulk_steady_state`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.clients.sensor_latency import png_bytes
from benchmarks.emulator import COMPLETE, StatsSampler, emulator, stats
from benchmarks.figures.rate_limit import alternative_ratios, sustained_rate
from benchmarks.figures.throttling import PERIOD_S, TIME_SCALE
from benchmarks.processes import run_client
from benchmarks.report import Goal, measured
from benchmarks.stats import median, ratio

KEYS = ("bulk_steady_state",)
GOAL = Goal(">=", 0.95, "429s == 0 and sustained completion rate / limit >= 0.95")
#: The presigned-URL limit: the API's 50 per second, time-scaled.
PRESIGNED_CALLS, PRESIGNED_PERIOD_S = 50, 1.0 / TIME_SCALE
CONCURRENCY = 8  # the operator's default max_concurrency
IMAGE_PX = 320


@dataclass(frozen=True)
class Size:
    images: int
    limit_calls: int  # completions per PERIOD_S: the API's 1000 per minute, time-scaled
    rounds: int


SIZES = {False: Size(images=5000, limit_calls=1000, rounds=2), True: Size(images=6, limit_calls=3, rounds=1)}

METHOD = (
    "{images} copies of a generated {width} px PNG in a folder. A fresh emulator per round (another "
    "process) enforces {limit_calls} completions per {period:g} s and {presigned} presigned URLs per "
    "{presigned_period:g} s (the API's {limit_calls} per minute and {presigned} per second, time divided "
    "by {scale}) with strict sliding windows, answering 429 beyond them; no latency is added. One "
    "client process, the connection's extras complete_calls_per_minute={limit_calls} and "
    "presigned_url_calls_per_second={presigned} counted over {period:g} s and {presigned_period:g} s "
    "(settings.RATE_LIMIT_EXTRAS patched at its start), runs "
    "MediaIntelligenceBulkUploadPersonThumbnailsOperator.execute over the folder with a fresh "
    "manifest_path (max_concurrency {concurrency}, its default), logging as an Airflow 3 task does; every "
    "key is saved in the manifest before its image is sent, as in production. Each image takes one "
    "presigned URL and one completion, so the completion limit binds. The time of every completion "
    "answer is noted in the client. Sustained rate: {limit_calls} / the mean, over every completion j, "
    "of the time from the answer of completion j to the answer of completion j+{limit_calls}: each "
    "pair spans one period of the limit's window once the first burst of {limit_calls} is sent, and a "
    "client that kept the window full would score the limit's rate ({limit_calls} / {period:g} s). "
    "Ratio = sustained rate / that limit. 429s: the emulator's throttled count, every endpoint. "
    "{rounds} rounds, medians."
)


def _run(folder: Path, size: Size) -> dict[str, Any]:
    """One batch against a fresh emulator: the client's timings and what the gateway counted."""
    limits = [
        f"{COMPLETE}={size.limit_calls}/{PERIOD_S:g}",
        f"presigned-url={PRESIGNED_CALLS}/{PRESIGNED_PERIOD_S:g}",
    ]
    with emulator(rate_limits=limits) as api:
        connection = api.connection_json(
            complete_calls_per_minute=size.limit_calls, presigned_url_calls_per_second=PRESIGNED_CALLS
        )
        with StatsSampler(api.url, period=0.1) as sampler:
            result = run_client(
                "benchmarks.clients.bulk_steady_state",
                [
                    *("--folder", str(folder), "--concurrency", str(CONCURRENCY)),
                    *("--minute-seconds", f"{PERIOD_S:g}", "--second-seconds", f"{PRESIGNED_PERIOD_S:g}"),
                ],
                env={"AIRFLOW_CONN_NCP_MI_DEFAULT": connection},
            )
        counts = stats(api.url)
    answers = sorted(result["completion_answer_times"])
    rate = sustained_rate(answers, size.limit_calls)
    return {
        **result,
        "answers": answers,
        "rate": rate,
        "throttled": sum(counts["throttled"].values()),
        "admitted": counts["admitted"],
        "admitted_per_second": sampler.admitted_series(result["started"], 1.0),
    }


def measure(smoke: bool = False) -> dict[str, dict[str, Any]]:
    """Run the batch against the rate-limited emulator, a fresh one each round; build the entry."""
    size = SIZES[smoke]
    image = png_bytes(IMAGE_PX, IMAGE_PX)
    runs = []
    with tempfile.TemporaryDirectory(prefix="mi-bench-steady-") as tmp:
        folder = Path(tmp)
        for number in range(size.images):
            (folder / f"face-{number:05d}.png").write_bytes(image)
        for _ in range(size.rounds):
            runs.append(_run(folder, size))
    limit_rate = size.limit_calls / PERIOD_S
    rates = [run["rate"] or 0.0 for run in runs]
    sustained = median(rates)
    throttled = sum(run["throttled"] for run in runs)
    all_completed = all(run["states"]["completed"] == size.images for run in runs)
    rate_ratio = ratio(sustained, limit_rate)
    return {
        "bulk_steady_state": measured(
            what=f"A batch of {size.images} images through the bulk operator with a manifest against an "
            f"emulator enforcing {size.limit_calls} completions per {PERIOD_S:g} s and {PRESIGNED_CALLS} "
            f"presigned URLs per {PRESIGNED_PERIOD_S:g} s (the API's limits, time / {TIME_SCALE}): the "
            "completion rate sustained once the first period's burst is spent, as a fraction of the "
            "limit, and the 429s drawn.",
            method=METHOD.format(
                width=IMAGE_PX,
                period=PERIOD_S,
                presigned=PRESIGNED_CALLS,
                presigned_period=PRESIGNED_PERIOD_S,
                scale=TIME_SCALE,
                concurrency=CONCURRENCY,
                **size.__dict__,
            ),
            unit="completions/s",
            sides={
                "sustained": {
                    "value": round(sustained, 2),
                    "by_run": [round(rate, 2) for rate in rates],
                    "emulator_429s": throttled,
                },
                "limit": {"value": round(limit_rate, 2)},
            },
            ratio=rate_ratio,
            ratio_of="sustained / limit",
            goal=GOAL,
            criteria={"no_429s": throttled == 0, "all_completed": all_completed},
            also=f"{throttled} 429s",
            details={
                "images": size.images,
                "max_concurrency": CONCURRENCY,
                "states_by_run": [run["states"] for run in runs],
                "seconds_by_run": [run["seconds"] for run in runs],
                "client_cpu_s_by_run": [run["cpu_s"] for run in runs],
                "client_cpu_ms_per_image_by_run": [
                    round(run["cpu_s"] / size.images * 1000, 2) for run in runs
                ],
                "completions_answered_by_run": [len(run["answers"]) for run in runs],
                "emulator_admitted_by_run": [run["admitted"] for run in runs],
                "emulator_429s": throttled,
                "client_429_answers": sum(len(run["throttled_times"]) for run in runs),
                "manifest_bytes_by_run": [run["manifest_bytes"] for run in runs],
                "alternative_ratios": _alternatives(runs, size.limit_calls),
                "completions_admitted_per_second_by_run": [run["admitted_per_second"] for run in runs],
            },
        )
    }


def _alternatives(runs: list[dict[str, Any]], limit_calls: int) -> dict[str, Any]:
    """The rate-limit figure's two other definitions of the ratio, each with its value in every run."""
    by_run = [alternative_ratios(run["answers"], run["started"], limit_calls) for run in runs]
    return {
        name: {"definition": entry["definition"], "value_by_run": [each[name]["value"] for each in by_run]}
        for name, entry in by_run[0].items()
    }
