"""
Sync a folder of faces into persons through ``MediaIntelligenceSyncPersonsOperator``, once.

Runs the operator's ``execute`` over ``--folder`` (``<folder>/<person name>/*.jpg``) with its
manifest at ``--manifest``, as a worker would, logging as a task does under Airflow 3, and writes
the wall and CPU time of ``execute`` and its summary (persons created, attached, unchanged, failed).
The figure runs it twice against one emulator with one manifest: the first run registers every
person, the second finds them all in the manifest.
"""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.clients.common import WORKSPACE, configure_airflow_logging, parser, write_result

#: The operator's summary counts the client reports.
ACTIONS = ("created", "attached", "unchanged", "failed")


def sync(folder: Path, manifest: Path) -> tuple[float, float, dict[str, int]]:
    """Run the sync once; return wall and CPU seconds of ``execute`` and its counts."""
    from airflow_provider_mi.operators.person_sync import MediaIntelligenceSyncPersonsOperator

    operator = MediaIntelligenceSyncPersonsOperator(
        task_id="person_sync",
        source=str(folder),
        manifest_path=str(manifest),
        workspace_name=WORKSPACE,
        max_failed_persons=10**9,  # count failures here instead of failing
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    summary = operator.execute(context={})
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    counts = {"persons": summary["persons"], **{action: summary[action] for action in ACTIONS}}
    return seconds, cpu, counts


def main() -> None:
    args = parser(__doc__)
    args.add_argument("--folder", type=Path, required=True, help="one sub-folder of photos per person")
    args.add_argument("--manifest", type=Path, required=True, help="the operator's manifest_path")
    options = args.parse_args()
    configure_airflow_logging(options.out.with_suffix(".airflow.log"))
    seconds, cpu, counts = sync(options.folder, options.manifest)
    write_result(options.out, {"seconds": seconds, "cpu_s": round(cpu, 3), "counts": counts})


if __name__ == "__main__":
    main()
