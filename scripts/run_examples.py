"""
The main job: run every example DAG through real Airflow (``airflow dags test``) against the emulator.

Starts the Media Intelligence emulator on 127.0.0.1 (uploads become visible after a short delay, so
the sensors really wait), points connection ``ncp_mi_default`` at it, prepares a throw-away
AIRFLOW_HOME, runs each DAG in ``example_dags/`` and prints what happened. Exits non-zero if a DAG
run failed.
"""

from __future__ import annotations

import argparse
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


def example_dag_ids() -> list[str]:
    ids = []
    for path in sorted(DAGS_FOLDER.glob("*.py")):
        ids += re.findall(r'dag_id="([^"]+)"', path.read_text())
    return ids


def airflow(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "airflow", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=DAG_TIMEOUT_SECONDS,
        check=False,
    )


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
        migrated = airflow(["db", "migrate"], env)
        if migrated.returncode != 0:
            print(migrated.stdout + migrated.stderr)
            return 1
        failures = 0
        for dag_id in example_dag_ids():
            before = len(emulator.state.requests)
            started = time.monotonic()
            result = airflow(["dags", "test", dag_id], env)
            calls = Counter(entry.endpoint for entry in emulator.state.requests[before:])
            ok = result.returncode == 0  # both Airflow 2.11 and 3.3 exit non-zero when a run fails
            failures += not ok
            summary = ", ".join(f"{count} {endpoint}" for endpoint, count in sorted(calls.items()))
            elapsed = time.monotonic() - started
            print(f"{'OK  ' if ok else 'FAIL'} {dag_id:<32} {elapsed:5.1f} s  API calls: {summary}")
            if args.verbose or not ok:
                print(result.stdout[-6000:] + result.stderr[-6000:])
        print(f"{len(example_dag_ids()) - failures} passed, {failures} failed")
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
