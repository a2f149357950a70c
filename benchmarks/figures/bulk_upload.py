"""
Figure 7, ``bulk_upload``: many generated images uploaded through the bulk operator vs a loop of
single uploads through the Hook, against an API that is 50 ms away and enforces its own limits.

Each run gets a fresh emulator (another process, so no run inherits another's quota) that adds
:data:`LATENCY_S` to every request and enforces the API's limits (:data:`API_LIMITS`); the client
keeps the connection's default limits, which are the same. Both sides upload copies of one
generated PNG from one folder; throughput is per second, so their sizes need not match.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.clients.sensor_latency import png_bytes
from benchmarks.emulator import emulator, stats
from benchmarks.processes import run_client
from benchmarks.report import Goal, measured
from benchmarks.stats import median, ratio, rotated

KEYS = ("bulk_upload",)
GOAL = Goal(">=", 5.0, "throughput ratio >= 5, 429s == 0; fraction of the presigned-URL limit reported")
LATENCY_S = 0.05
#: The API's limits, enforced by the emulator as the gateway does (per endpoint, sliding window).
API_LIMITS = ("presigned-url=50/1", "complete=1000/60")
PRESIGNED_PER_SECOND, PRESIGNED_PERIOD_S = 50, 1.0
#: Requests per image, each :data:`LATENCY_S` away: presigned URL, PUT to storage, completion.
REQUESTS_PER_IMAGE = 3
CONCURRENCY = 8  # the operator's default max_concurrency
IMAGE_PX = 320
SIDES = ("bulk", "loop")
#: The states of an image the API took (``waiting``: uploaded, not visible to completion yet).
UPLOADED = ("completed", "waiting")


@dataclass(frozen=True)
class Size:
    images: int
    loop_images: int
    rounds: int


SIZES = {False: Size(images=500, loop_images=100, rounds=2), True: Size(images=6, loop_images=2, rounds=1)}

METHOD = (
    "{images} copies of a generated {width} px PNG in a folder. Each run starts a fresh emulator "
    "(another process) that answers every request {latency_ms:g} ms late (presigned URL, PUT to "
    "storage and completion alike: {requests} requests per image) and enforces the API's limits, "
    "{presigned} presigned URLs per second and 1000 completions per 60 s, answering 429 beyond them; "
    "the client's connection keeps its default limits, which are the same (the limiter: N slots, "
    "each free one period after its call's answer). Bulk: one client process runs "
    "MediaIntelligenceBulkUploadPersonThumbnailsOperator.execute over the folder ({images} images, "
    "max_concurrency {concurrency}, its default), as a worker does. Loop: one client process uploads "
    "the first "
    "{loop_images} images one after the other with MediaIntelligenceHook.upload_person_thumbnail. "
    "Both log as an Airflow 3 task does. Time: wall time around execute / around the loop. Sides "
    "alternate over {rounds} rounds, a fresh process and emulator per run; each side's value is the "
    "median of its runs' images uploaded (completed or waiting) per second. Ratio = bulk / loop. "
    "429s: the emulators' throttled counts, all endpoints. Bulk throughput is also given as a "
    "fraction of the presigned-URL limit (one presigned URL per image); two ceilings explain it: "
    "max_concurrency / ({requests} x {latency_ms:g} ms) = {concurrency_bound:.1f} images/s, and the "
    "limiter's {presigned} per ({period:g} s + a presigned call's {latency_ms:g} ms and more) = at "
    "most {limit_bound:.1f} images/s."
)


def _run(side: str, folder: Path, size: Size) -> dict[str, Any]:
    """One side's run against a fresh emulator: its throughput, states and what the gateway counted."""
    with emulator(rate_limits=API_LIMITS, latency=LATENCY_S) as api:
        args = ["--mode", side, "--folder", str(folder), "--concurrency", str(CONCURRENCY)]
        if side == "loop":
            args += ["--count", str(size.loop_images)]
        result = run_client(
            "benchmarks.clients.bulk_upload", args, env={"AIRFLOW_CONN_NCP_MI_DEFAULT": api.connection_json()}
        )
        counts = stats(api.url)
    uploaded = sum(result["states"].get(state, 0) for state in UPLOADED)
    return {
        **result,
        "uploaded": uploaded,
        "per_second": uploaded / result["seconds"],
        "throttled": sum(counts["throttled"].values()),
        "admitted": counts["admitted"],
    }


def _side(runs: list[dict[str, Any]], images: int) -> dict[str, Any]:
    return {
        "value": round(median([run["per_second"] for run in runs]), 2),
        "images_per_run": images,
        "per_second_by_run": [round(run["per_second"], 2) for run in runs],
        "seconds_by_run": [round(run["seconds"], 3) for run in runs],
        "states_by_run": [run["states"] for run in runs],
        "emulator_429s": sum(run["throttled"] for run in runs),
        "emulator_admitted_by_run": [run["admitted"] for run in runs],
        "client_cpu_s_by_run": [run["cpu_s"] for run in runs],
        "client_cpu_ms_per_image_by_run": [round(run["cpu_s"] / images * 1000, 1) for run in runs],
    }


def measure(smoke: bool = False) -> dict[str, dict[str, Any]]:
    """Time both sides, alternating, each run against its own emulator."""
    size = SIZES[smoke]
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
    image = png_bytes(IMAGE_PX, IMAGE_PX)
    with tempfile.TemporaryDirectory(prefix="mi-bench-images-") as tmp:
        folder = Path(tmp)
        for number in range(size.images):
            (folder / f"face-{number:05d}.png").write_bytes(image)
        for round_number in range(size.rounds):
            for side in rotated(SIDES, round_number):
                runs[side].append(_run(side, folder, size))
    images = {"bulk": size.images, "loop": size.loop_images}
    sides = {side: _side(runs[side], images[side]) for side in SIDES}
    bulk_rate = median([run["per_second"] for run in runs["bulk"]])
    loop_rate = median([run["per_second"] for run in runs["loop"]])
    throttled = sides["bulk"]["emulator_429s"] + sides["loop"]["emulator_429s"]
    all_uploaded = all(run["uploaded"] == images[side] for side in SIDES for run in runs[side])
    fraction = bulk_rate / PRESIGNED_PER_SECOND
    concurrency_bound = CONCURRENCY / (REQUESTS_PER_IMAGE * LATENCY_S)
    limit_bound = PRESIGNED_PER_SECOND / (PRESIGNED_PERIOD_S + LATENCY_S)
    return {
        "bulk_upload": measured(
            what=f"{size.images} generated images, {LATENCY_S * 1000:g} ms of latency added to every "
            "request, the API's limits enforced: MediaIntelligenceBulkUploadPersonThumbnailsOperator vs a "
            "loop of single uploads through MediaIntelligenceHook.",
            method=METHOD.format(
                width=IMAGE_PX,
                latency_ms=LATENCY_S * 1000,
                requests=REQUESTS_PER_IMAGE,
                presigned=PRESIGNED_PER_SECOND,
                period=PRESIGNED_PERIOD_S,
                concurrency=CONCURRENCY,
                concurrency_bound=concurrency_bound,
                limit_bound=limit_bound,
                **size.__dict__,
            ),
            unit="images/s",
            sides=sides,
            ratio=ratio(bulk_rate, loop_rate),
            ratio_of="bulk / loop",
            goal=GOAL,
            criteria={"no_429s": throttled == 0, "all_uploaded": all_uploaded},
            also=f"{throttled} 429s, bulk at {fraction:.0%} of the presigned-URL limit",
            details={
                "bulk_fraction_of_presigned_limit": round(fraction, 3),
                "latency_s": LATENCY_S,
                "emulator_limits": list(API_LIMITS),
                "max_concurrency": CONCURRENCY,
                "ceilings_images_per_s": {
                    "max_concurrency_over_request_latencies": round(concurrency_bound, 1),
                    "presigned_limit_slots_over_period_plus_latency": round(limit_bound, 1),
                },
                "emulator_429s": throttled,
                "all_uploaded": all_uploaded,
            },
        )
    }
