"""
Figure ``person_sync`` (issue 12): a folder of faces synced into persons by
``MediaIntelligenceSyncPersonsOperator``, against an API that is 50 ms away and enforces its limits;
the first run's wall time against the least time those limits allow for the requests it made, and
a second run, which should only list the persons.

Each round gets a fresh emulator (another process) and a fresh manifest; the photos are generated
once, before the first round (:func:`airflow_provider_mi.emulator.faces.face_image`: the variants
of one person match each other, different persons do not, so every person is new to the
workspace). The sync runs twice per round, each time in a fresh client process, as two task runs
would; the emulator's admitted counts before, between and after say which requests each run made.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from airflow_provider_mi.core.rate_limit import DEFAULT_RATE_LIMITS, PERSONS, PRESIGNED_URL
from airflow_provider_mi.emulator.faces import face_image
from airflow_provider_mi.emulator.state import ENDPOINTS, PERSON_ENDPOINTS, WRITE_ENDPOINTS
from benchmarks.emulator import COMPLETE, emulator, stats
from benchmarks.processes import run_client
from benchmarks.report import Goal, measured
from benchmarks.stats import median

KEYS = ("person_sync",)
GOAL = Goal(
    "<=",
    1.2,
    "first run <= 1.2 x the limits' minimum, 0 429s; second run 0 writes, <= 5 % of the first's time",
)
LATENCY_S = 0.05
PRESIGNED = "presigned-url"
#: Calls per period of each limit: the API's documented ones, and the client's default for the
#: person endpoints (NCP documents none for them).
PERSON_CALLS, PERSON_PERIOD_S = (
    DEFAULT_RATE_LIMITS[PERSONS].calls,
    DEFAULT_RATE_LIMITS[PERSONS].period_seconds,
)
PRESIGNED_CALLS, PRESIGNED_PERIOD_S = (
    DEFAULT_RATE_LIMITS[PRESIGNED_URL].calls,
    DEFAULT_RATE_LIMITS[PRESIGNED_URL].period_seconds,
)
COMPLETE_CALLS, COMPLETE_PERIOD_S = 1000, 60.0
#: What the emulator enforces, per endpoint, as the gateway does (strict sliding window, 429 beyond).
API_LIMITS = (
    f"{PRESIGNED}={PRESIGNED_CALLS}/{PRESIGNED_PERIOD_S:g}",
    f"{COMPLETE}={COMPLETE_CALLS}/{COMPLETE_PERIOD_S:g}",
    *(f"{endpoint}={PERSON_CALLS}/{PERSON_PERIOD_S:g}" for endpoint in PERSON_ENDPOINTS),
)
#: The requests that change something: the person writes, and the three of an upload.
WRITES = (*WRITE_ENDPOINTS, PRESIGNED, "storage", COMPLETE)
#: What a second run should send, and nothing else.
SECOND_RUN_ENDPOINTS = ("list-persons",)
MAX_SECOND_FRACTION = 0.05
CONCURRENCY = 8  # the operator's default max_concurrency
#: The first person's seed for face_image (any will do; the sample sets use small ones).
FIRST_SEED = 1000


@dataclass(frozen=True)
class Size:
    persons: int
    photos_per_person: int
    rounds: int

    @property
    def photos(self) -> int:
        return self.persons * self.photos_per_person


SIZES = {
    False: Size(persons=200, photos_per_person=5, rounds=2),
    True: Size(persons=3, photos_per_person=2, rounds=1),
}

METHOD = (
    "A folder of {persons} sub-folders (one per person) of {photos_per_person} generated JPEG faces "
    "each, {photos} photos (face_image(seed, variant): one person's variants match each other, different "
    "persons' do not, so every person is new), generated once before the first round. Each round "
    "starts a fresh emulator (another process) that answers every request {latency_ms:g} ms late and "
    "enforces, per endpoint (strict sliding window, 429 beyond): {presigned} presigned URLs per "
    "{presigned_period:g} s and {complete} completions per {complete_period:g} s (the API's documented "
    "limits), and {person_calls} calls per {person_period:g} s on each person endpoint (list-persons, "
    "compare, create-person, get-person, add-thumbnails, ...): NCP documents no limit for them, so the "
    "emulator enforces the client's default. The connection keeps its default limits: the same for "
    "presigned URLs and completions, and one limit of {person_calls} per {person_period:g} s for all "
    "person endpoints together (the limiter: N slots, each free one period after its call's answer). "
    "First run: one client process runs MediaIntelligenceSyncPersonsOperator.execute over the folder "
    "with a new manifest (max_concurrency {concurrency}, its default), as a worker does, logging as an "
    "Airflow 3 task does; it lists the persons once, uploads every photo (presigned URL, PUT, "
    "completion) and, person by person, compares its first photo and creates it. Second run: a fresh "
    "client process runs it again with the same folder and manifest. Time: wall time around execute. "
    "Minimum: from the requests the emulator admitted in the first run, the least time in which each "
    "limit's sliding window admits them (N calls at L per period: (N - 1) // L periods, the first L at "
    "once), the largest of: the person calls together at {person_calls} per {person_period:g} s (the "
    "client's one limit for them; the API's per-endpoint limits alone would allow compare and "
    "create-person in parallel, details.vs_api_per_endpoint_minimum_s_by_run), the presigned URLs at "
    "{presigned} per {presigned_period:g} s, the completions at {complete} per {complete_period:g} s "
    "(nothing for the first {complete}); plus one request's {latency_ms:g} ms. The same at each limit's "
    "average rate (N / rate) is in details.vs_average_rate_minimum_s_by_run; the client's person limiter, "
    "which frees a slot a period after its call's answer, can do no better than about (calls / "
    "{person_calls} - 1) x ({person_period:g} s + {latency_ms:g} ms) + {latency_ms:g} ms "
    "(details.about_the_best_for_the_client_limiter_s_by_run). Ratio = "
    "first-run wall time / minimum. 429s: the emulator's throttled counts, all endpoints, both runs. "
    "Second run: its admitted requests (the emulator's counts after it minus before it) must hold no "
    "write (the person writes of the emulator, presigned URLs, PUTs to storage, completions): only "
    "list-persons; its time / the first run's <= {max_fraction:.0%}. {rounds} round(s), a fresh "
    "emulator and manifest each, values the medians over them: the full size runs two, as the whole "
    "figure then takes about 100 s on 2 cores (the photos' generation included), under the 3 minutes "
    "up to which the suite affords a second round."
)


def make_photos(folder: Path, size: Size) -> None:
    """Write ``<folder>/Person NNN/V.jpg``: ``size.photos_per_person`` variants of each person's face."""
    for number in range(size.persons):
        person = folder / f"Person {number:03d}"
        person.mkdir(parents=True)
        for variant in range(size.photos_per_person):
            (person / f"{variant}.jpg").write_bytes(face_image(FIRST_SEED + number, variant))


def _difference(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {name: after.get(name, 0) - before.get(name, 0) for name in ENDPOINTS}


def window_seconds(calls: int, limit: int, period: float) -> float:
    """The least time from the first to the last of ``calls`` calls that ``limit`` per ``period`` admit."""
    return (calls - 1) // limit * period if calls > 0 else 0.0


def minimum_seconds(admitted: dict[str, int]) -> tuple[float, dict[str, float]]:
    """
    The least time the limits allow for ``admitted`` (requests by endpoint), and each limit's part.

    Each limit's part is the least time its sliding window takes to admit its calls: a window of N
    per period admits the first N at once and every further N a period after the N before them
    (completions: so nothing for the first 1000). The minimum is the largest part plus one
    request's latency (each call is admitted after it, and the first cannot be earlier).
    """
    person_calls = sum(admitted.get(endpoint, 0) for endpoint in PERSON_ENDPOINTS)
    parts = {
        "person_calls": window_seconds(person_calls, PERSON_CALLS, PERSON_PERIOD_S),
        "presigned_urls": window_seconds(admitted.get(PRESIGNED, 0), PRESIGNED_CALLS, PRESIGNED_PERIOD_S),
        "completions": window_seconds(admitted.get(COMPLETE, 0), COMPLETE_CALLS, COMPLETE_PERIOD_S),
    }
    return max(parts.values()) + LATENCY_S, parts


def limiter_seconds(admitted: dict[str, int]) -> float:
    """
    About the least time the client's person limiter takes for the person calls in ``admitted``.

    It frees a slot one period after its call's answer, so every wave of calls after the first costs
    a period plus a request's latency (see the bulk upload figure's second ceiling).
    """
    person_calls = sum(admitted.get(endpoint, 0) for endpoint in PERSON_ENDPOINTS)
    waves = -(-person_calls // PERSON_CALLS)
    return max(0, waves - 1) * (PERSON_PERIOD_S + LATENCY_S) + LATENCY_S


def average_rate_seconds(admitted: dict[str, int]) -> float:
    """The minimum at each limit's average rate (calls / rate; completions beyond the first 1000)."""
    person_calls = sum(admitted.get(endpoint, 0) for endpoint in PERSON_ENDPOINTS)
    beyond = max(0, admitted.get(COMPLETE, 0) - COMPLETE_CALLS)
    return LATENCY_S + max(
        person_calls / PERSON_CALLS * PERSON_PERIOD_S,
        admitted.get(PRESIGNED, 0) / PRESIGNED_CALLS * PRESIGNED_PERIOD_S,
        beyond / COMPLETE_CALLS * COMPLETE_PERIOD_S,
    )


def _round(folder: Path, manifest: Path) -> dict[str, Any]:
    """One round: a fresh emulator, the sync run twice; the times and what the emulator counted."""
    args = ["--folder", str(folder), "--manifest", str(manifest)]
    with emulator(rate_limits=API_LIMITS, latency=LATENCY_S) as api:
        env = {"AIRFLOW_CONN_NCP_MI_DEFAULT": api.connection_json()}
        start = stats(api.url)
        first = run_client("benchmarks.clients.person_sync", args, env=env)
        between = stats(api.url)
        second = run_client("benchmarks.clients.person_sync", args, env=env)
        end = stats(api.url)
    first_admitted = _difference(between["admitted"], start["admitted"])
    second_admitted = _difference(end["admitted"], between["admitted"])
    minimum, parts = minimum_seconds(first_admitted)
    # The same for the API's own limits, each person endpoint counted on its own.
    per_endpoint = max(
        [parts["presigned_urls"], parts["completions"]]
        + [
            window_seconds(first_admitted[endpoint], PERSON_CALLS, PERSON_PERIOD_S)
            for endpoint in PERSON_ENDPOINTS
        ]
    )
    return {
        "first": first,
        "second": second,
        "minimum": minimum,
        "minimum_parts": parts,
        "api_per_endpoint_minimum": per_endpoint + LATENCY_S,
        "average_rate_minimum": average_rate_seconds(first_admitted),
        "limiter_seconds": limiter_seconds(first_admitted),
        "first_admitted": {name: n for name, n in first_admitted.items() if n},
        "second_admitted": {name: n for name, n in second_admitted.items() if n},
        "second_writes": sum(second_admitted[name] for name in WRITES),
        "second_others": sum(n for name, n in second_admitted.items() if name not in SECOND_RUN_ENDPOINTS),
        "throttled": {
            "first": sum(between["throttled"].values()) - sum(start["throttled"].values()),
            "second": sum(end["throttled"].values()) - sum(between["throttled"].values()),
        },
    }


def measure(smoke: bool = False) -> dict[str, dict[str, Any]]:
    """Sync the folder twice per round, each round against its own emulator with a new manifest."""
    size = SIZES[smoke]
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="mi-bench-faces-") as tmp:
        folder = Path(tmp) / "faces"
        make_photos(folder, size)
        for number in range(size.rounds):
            rounds.append(_round(folder, Path(tmp) / f"manifest-{number}.json"))
    firsts = [run["first"]["seconds"] for run in rounds]
    seconds = [run["second"]["seconds"] for run in rounds]
    minimums = [run["minimum"] for run in rounds]
    ratios = [first / minimum for first, minimum in zip(firsts, minimums, strict=True)]
    fractions = [second / first for second, first in zip(seconds, firsts, strict=True)]
    fraction = median(fractions)
    throttled = sum(run["throttled"]["first"] + run["throttled"]["second"] for run in rounds)
    second_writes = sum(run["second_writes"] for run in rounds)
    all_created = all(
        run["first"]["counts"]["created"] == size.persons and run["first"]["counts"]["failed"] == 0
        for run in rounds
    )
    all_unchanged = all(run["second"]["counts"]["unchanged"] == size.persons for run in rounds)
    criteria = {
        "no_429s": throttled == 0,
        "second_run_no_writes": second_writes == 0,
        "second_run_time_fraction": fraction <= MAX_SECOND_FRACTION,
        "all_created_then_unchanged": all_created and all_unchanged,
    }
    sides = {
        "first_run": {
            "value": round(median(firsts), 2),
            "seconds_by_run": [round(value, 3) for value in firsts],
            "client_cpu_s_by_run": [run["first"]["cpu_s"] for run in rounds],
            "counts_by_run": [run["first"]["counts"] for run in rounds],
            "emulator_admitted_by_run": [run["first_admitted"] for run in rounds],
            "emulator_429s": sum(run["throttled"]["first"] for run in rounds),
        },
        "minimum": {
            "value": round(median(minimums), 2),
            "seconds_by_run": [round(value, 3) for value in minimums],
            "parts_s_by_run": [{k: round(v, 3) for k, v in run["minimum_parts"].items()} for run in rounds],
        },
        "second_run": {
            "value": round(median(seconds), 3),
            "seconds_by_run": [round(value, 4) for value in seconds],
            "fraction_of_first_by_run": [round(value, 4) for value in fractions],
            "client_cpu_s_by_run": [run["second"]["cpu_s"] for run in rounds],
            "counts_by_run": [run["second"]["counts"] for run in rounds],
            "emulator_admitted_by_run": [run["second_admitted"] for run in rounds],
            "emulator_429s": sum(run["throttled"]["second"] for run in rounds),
        },
    }
    return {
        "person_sync": measured(
            what=f"{size.persons} persons, {size.photos} generated photos, {LATENCY_S * 1000:g} ms added "
            "to every request, the API's limits enforced: MediaIntelligenceSyncPersonsOperator's first "
            "run vs the least time the limits allow its requests, and its second run.",
            method=METHOD.format(
                latency_ms=LATENCY_S * 1000,
                presigned=PRESIGNED_CALLS,
                presigned_period=PRESIGNED_PERIOD_S,
                complete=COMPLETE_CALLS,
                complete_period=COMPLETE_PERIOD_S,
                person_calls=PERSON_CALLS,
                person_period=PERSON_PERIOD_S,
                concurrency=CONCURRENCY,
                max_fraction=MAX_SECOND_FRACTION,
                photos=size.photos,
                persons=size.persons,
                photos_per_person=size.photos_per_person,
                rounds=size.rounds,
            ),
            unit="s",
            sides=sides,
            ratio=median(ratios),
            ratio_of="first_run / minimum",
            goal=GOAL,
            criteria=criteria,
            also=f"{throttled} 429s, second run {fraction:.1%} of the first with {second_writes} writes",
            details={
                "ratio_by_run": [round(value, 4) for value in ratios],
                "second_run_fraction_of_first": round(fraction, 4),
                "second_run_writes": second_writes,
                "second_run_requests_other_than_list_persons": sum(run["second_others"] for run in rounds),
                "emulator_429s": throttled,
                "latency_s": LATENCY_S,
                "emulator_limits": list(API_LIMITS),
                "client_limits": {
                    "persons_all_endpoints_together": f"{PERSON_CALLS}/{PERSON_PERIOD_S:g}",
                    "presigned_url": f"{PRESIGNED_CALLS}/{PRESIGNED_PERIOD_S:g}",
                    "complete_upload": f"{COMPLETE_CALLS}/{COMPLETE_PERIOD_S:g}",
                },
                "max_concurrency": CONCURRENCY,
                # What the API's per-endpoint limits alone would allow (compare and create-person in
                # parallel); the client keeps one limit for every person endpoint, so it is no bound here.
                "vs_api_per_endpoint_minimum_s_by_run": [
                    round(run["api_per_endpoint_minimum"], 3) for run in rounds
                ],
                # The client's person limiter frees a slot a period after its call's answer: about the
                # best a client keeping it can do, so ratio minus its ratio is the operator's own cost.
                "about_the_best_for_the_client_limiter_s_by_run": [
                    round(run["limiter_seconds"], 3) for run in rounds
                ],
                # Each limit at its average rate instead of its window (N calls take N / rate): a
                # little longer than the window's minimum, which admits a full window at once.
                "vs_average_rate_minimum_s_by_run": [round(run["average_rate_minimum"], 3) for run in rounds],
                "ratio_vs_average_rate_minimum_by_run": [
                    round(run["first"]["seconds"] / run["average_rate_minimum"], 4) for run in rounds
                ],
                "persons": size.persons,
                "photos": size.photos,
                "rounds": size.rounds,
            },
        )
    }
