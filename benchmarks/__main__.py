"""
Run the benchmark suite: ``python -m benchmarks [--smoke] [--only GROUP ...] [--out PATH]``.

Prints the results table and writes the JSON (by default ``benchmarks/results/latest.json``). Run
it through ``scripts/bench``, which prepares the Airflow 3.3 environment first.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks import ROOT
from benchmarks.figures import GROUPS
from benchmarks.report import FAILED, FIGURE_KEYS, machine_info, not_measured, now_utc, table, write_json

RESULTS = ROOT / "benchmarks" / "results"
#: Where a full run writes; a smoke run or a run of some groups only writes elsewhere.
DEFAULT_OUT = RESULTS / "latest.json"


def default_out(smoke: bool, only: list[str] | None) -> Path:
    """``latest.json`` for a full run; ``smoke.json`` or ``partial.json`` (not kept in git) else."""
    if smoke:
        return RESULTS / "smoke.json"
    return RESULTS / "partial.json" if only else DEFAULT_OUT


def run_group(name: str, smoke: bool) -> dict[str, dict[str, Any]]:
    """Measure one figure group; on failure, mark its keys failed with the error."""
    started = time.monotonic()
    print(f"[{now_utc()}] {name} ...", flush=True)
    try:
        entries: dict[str, dict[str, Any]] = GROUPS[name].measure(smoke=smoke)
    except Exception as err:
        traceback.print_exc()
        reason = f"{type(err).__name__}: {err}"
        entries = {
            key: not_measured(what=key, goal="", reason=reason, harness=name, status=FAILED)
            for key in GROUPS[name].KEYS
        }
    print(f"[{now_utc()}] {name} done in {time.monotonic() - started:.0f} s", flush=True)
    return entries


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    args.add_argument(
        "--smoke", action="store_true", help="tiny sizes: checks the plumbing, measures nothing"
    )
    args.add_argument("--only", action="append", choices=list(GROUPS), help="run only these groups")
    args.add_argument("--out", type=Path, help=f"JSON to write (default: {DEFAULT_OUT} for a full run)")
    options = args.parse_args(argv)
    out: Path = options.out or default_out(options.smoke, options.only)
    home = None
    if "AIRFLOW_HOME" not in os.environ:
        home = tempfile.TemporaryDirectory(prefix="mi-bench-airflow-")
        os.environ["AIRFLOW_HOME"] = home.name

    started = time.monotonic()
    document: dict[str, Any] = {
        "date": now_utc(),
        "machine": machine_info(),
        "run": {"smoke": options.smoke, "load_average_at_start": list(os.getloadavg())},
    }
    figures: dict[str, dict[str, Any]] = {}
    for name in options.only or list(GROUPS):
        figures.update(run_group(name, options.smoke))
    for key in FIGURE_KEYS:
        document[key] = figures.get(key) or not_measured(
            what=key, goal="", reason="not run (--only)", harness="", status="not run"
        )
    document["run"]["load_average_at_end"] = list(os.getloadavg())
    document["run"]["duration_s"] = round(time.monotonic() - started, 1)
    write_json(out, document)
    machine = document["machine"]
    print()
    print(table(document))
    print(
        f"\n{document['date']}; {machine['cpu_model']}, {machine['cores']} cores, "
        f"Python {machine['python']}, Airflow {machine['versions']['apache-airflow']}; "
        f"took {document['run']['duration_s']:.0f} s; "
        f"written to {out}"
    )
    if options.smoke:
        print("Smoke run: the sizes are far too small for these numbers to mean anything.")
    if home is not None:
        home.cleanup()
    return 1 if any(document[key].get("status") == FAILED for key in FIGURE_KEYS) else 0


if __name__ == "__main__":
    sys.exit(main())
