"""
The main job: run every example DAG through real Airflow (``airflow dags test``) against the emulator.

Starts the Media Intelligence emulator on 127.0.0.1 (uploads become visible after a short delay, so
the sensors really wait), points connection ``ncp_mi_default`` at it, prepares a throw-away
AIRFLOW_HOME, runs each DAG in ``example_dags/`` and prints what happened. Exits non-zero if a DAG
run failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from airflow_provider_mi.emulator import MediaIntelligenceEmulator

ROOT = Path(__file__).resolve().parent.parent
DAGS_FOLDER = ROOT / "example_dags"
DAG_TIMEOUT_SECONDS = 300
#: The person-sync example: run twice, with its manifest and report in the demo's home.
SYNC_DAG_ID = "example_mi_sync_persons"


def example_dag_ids() -> list[str]:
    ids = []
    for path in sorted(DAGS_FOLDER.glob("*.py")):
        ids += re.findall(r'dag_id="([^"]+)"', path.read_text())
    return ids


def airflow(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # In AIRFLOW_HOME, not the work tree: `python -m` puts its directory first on sys.path, which
    # would import this checkout's provider over an installed wheel's.
    command = [sys.executable, "-m", "airflow", *args]
    try:
        return subprocess.run(
            command,
            cwd=env["AIRFLOW_HOME"],
            env=env,
            capture_output=True,
            text=True,
            timeout=DAG_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as err:  # a failed run like any other: report it, go on
        output = [
            part.decode(errors="replace") if isinstance(part, bytes) else part or ""
            for part in (err.stdout, err.stderr)
        ]
        return subprocess.CompletedProcess(
            command, -1, output[0], output[1] + f"\ntimed out after {DAG_TIMEOUT_SECONDS} s"
        )


def print_report(path: Path) -> None:
    """Print the person sync's report: one line per person."""
    for person in json.loads(path.read_text())["persons"]:
        details = [f"person {person['personId']}"] if person["personId"] else []
        if person["added"]:
            details.append(f"{person['added']} photos added")
        if person["matchedBy"]:
            details.append(f"matched by {person['matchedBy']}")
        details.extend(f"{file}: {why}" for file, why in person["failedFiles"].items())
        print(f"       {person['name']:<16} {person['action']:<10} {', '.join(details)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--visibility-delay", type=float, default=3.0)
    parser.add_argument("--verbose", action="store_true", help="print each DAG run's full output")
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory(prefix="mi-demo-") as home,
        MediaIntelligenceEmulator(visibility_delay=args.visibility_delay) as emulator,
    ):
        env = {
            **os.environ,
            **emulator.airflow_env(),
            "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        }
        print(f"Emulator: {emulator.url} (uploads visible after {args.visibility_delay:g} s)")
        # Parse the DAGs into the database once, as a DAG processor would: Airflow 3.0 and 2.11
        # record (and let tasks emit) events only for assets a parsed DAG has registered.
        for step in (["db", "migrate"], ["dags", "reserialize"]):
            done = airflow(step, env)
            if done.returncode != 0:
                print(done.stdout + done.stderr)
                return 1
        failures = runs = 0
        sync_conf = {
            "manifest_path": f"{home}/faces-manifest.json",
            "report_path": f"{home}/faces-report.json",
        }
        for dag_id in example_dag_ids():
            for attempt in range(2 if dag_id == SYNC_DAG_ID else 1):
                before = len(emulator.state.requests)
                writes = len(emulator.state.write_requests())
                started = time.monotonic()
                conf = ["--conf", json.dumps(sync_conf)] if dag_id == SYNC_DAG_ID else []
                result = airflow(["dags", "test", dag_id, *conf], env)
                calls = Counter(entry.endpoint for entry in emulator.state.requests[before:])
                ok = result.returncode == 0  # both Airflow 2.11 and 3.3 exit non-zero when a run fails
                failures += not ok
                runs += 1
                summary = ", ".join(f"{count} {endpoint}" for endpoint, count in sorted(calls.items()))
                elapsed = time.monotonic() - started
                label = dag_id + (" (again)" if attempt else "")
                print(f"{'OK  ' if ok else 'FAIL'} {label:<32} {elapsed:5.1f} s  API calls: {summary}")
                if dag_id == SYNC_DAG_ID and ok:
                    print_report(Path(sync_conf["report_path"]))
                    if attempt:
                        changed = len(emulator.state.write_requests()) - writes
                        verdict = "nothing changed" if not changed else "CHANGED on a second run"
                        print(f"       {verdict}: {changed} write requests")
                if args.verbose or not ok:
                    print(result.stdout[-6000:] + result.stderr[-6000:])
        print(f"{runs - failures} runs passed, {failures} failed")
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
