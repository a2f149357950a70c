"""Figure 1, ``signed_call_cpu_ratio``: client CPU per completion call, Hook vs raw requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from benchmarks.clients.common import mi_connection_json
from benchmarks.processes import run_client, server
from benchmarks.report import Goal, measured
from benchmarks.stats import median, ratio

KEYS = ("signed_call_cpu_ratio",)
GOAL = Goal("<=", 1.2, "<= 1.2")


@dataclass(frozen=True)
class Size:
    rounds: int
    calls: int


SIZES = {False: Size(rounds=12, calls=300), True: Size(rounds=1, calls=5)}


def measure(smoke: bool = False) -> dict[str, dict[str, Any]]:
    """Run the client against the minimal server (in another process); build the entry."""
    size = SIZES[smoke]
    with server(
        ["-m", "benchmarks.minimal_server", "--upload-status", "COMPLETED"], ready=r"(http://\S+)"
    ) as running:
        url = running.match.group(1)
        result = run_client(
            "benchmarks.clients.signed_call",
            ["--url", url, "--rounds", str(size.rounds), "--calls", str(size.calls)],
            env={"AIRFLOW_CONN_NCP_MI_DEFAULT": mi_connection_json(url)},
        )
    by_round = result["cpu_us_per_call_by_round"]
    values = {name: median(rounds) for name, rounds in by_round.items()}

    def side(name: str) -> dict[str, Any]:
        return {
            "value": round(values[name], 1),
            "cpu_us_per_call_by_round": [round(v, 1) for v in by_round[name]],
        }

    def versus_raw(name: str) -> float | None:
        value = ratio(values[name], values["raw_requests"])
        return None if value is None else round(value, 4)

    return {
        "signed_call_cpu_ratio": measured(
            what="Client CPU per completion call: MediaIntelligenceHook.complete_person_thumbnail_upload "
            "vs an unsigned requests.Session posting the same body to the same server.",
            method=f"{size.rounds} interleaved rounds of {size.calls} calls per side in one process, "
            "time.process_time, median per side; the minimal server (another process) answers both alike."
            " The hook logs as in an Airflow 3 task (JSON lines to an unbuffered socket, drained by "
            "another process as the supervisor does). The raw side checks the status and decodes the "
            "JSON. Diagnostic callers in the same rounds: hook_without_logging (its INFO line filtered "
            "out), raw_requests_signed (raw plus the signature headers, signed per call). The "
            "connection sets complete_calls_per_minute (the client-side limiter's slots, each free 60 s "
            "after its call's answer) above all the calls the process makes, so the limiter never "
            "waits (its bookkeeping per call is counted).",
            unit="CPU us per call",
            sides={"hook": side("hook"), "raw_requests": side("raw_requests")},
            ratio=ratio(values["hook"], values["raw_requests"]),
            ratio_of="hook / raw_requests",
            goal=GOAL,
            details={
                "diagnostic_callers": {
                    name: {**side(name), "ratio_to_raw_requests": versus_raw(name)}
                    for name in ("hook_without_logging", "raw_requests_signed")
                },
                "overhead_us_per_call": round(values["hook"] - values["raw_requests"], 1),
                "of_which_logging_us": round(values["hook"] - values["hook_without_logging"], 1),
                "of_which_signature_headers_us": round(
                    values["raw_requests_signed"] - values["raw_requests"], 1
                ),
                "hook_steps_alone_us": result["breakdown_us"],
                "calls_per_round": result["calls_per_round"],
                "environment_variables": result["environment_variables"],
            },
        )
    }
