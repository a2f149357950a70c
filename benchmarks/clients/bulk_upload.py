"""
Upload a folder of images through ``MediaIntelligenceBulkUploadPersonThumbnailsOperator``, or one
by one through the Hook.

``--mode bulk`` runs the operator's ``execute`` over the whole folder, as a worker would;
``--mode loop`` calls ``MediaIntelligenceHook.upload_person_thumbnail`` for the first ``--count``
files, one after the other. Both log as a task does under Airflow 3 and write the wall and CPU time
of the uploads and what became of each file (``completed``, ``waiting`` or ``failed``).
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from benchmarks.clients.common import WORKSPACE, configure_airflow_logging, parser, write_result


def bulk(folder: Path, concurrency: int) -> tuple[float, float, Counter[str]]:
    """Upload every file of ``folder`` with the bulk operator; return wall and CPU seconds, states."""
    from airflow_provider_mi.operators.bulk_upload import MediaIntelligenceBulkUploadPersonThumbnailsOperator

    operator = MediaIntelligenceBulkUploadPersonThumbnailsOperator(
        task_id="bulk",
        sources=str(folder),
        workspace_name=WORKSPACE,
        max_concurrency=concurrency,
        max_failed_files=10**9,  # count failures here instead of failing
    )
    started, cpu_started = time.perf_counter(), time.process_time()
    summary = operator.execute(context={})
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return seconds, cpu, Counter({state: summary[state] for state in ("completed", "waiting", "failed")})


def loop(folder: Path, count: int) -> tuple[float, float, Counter[str]]:
    """Upload the first ``count`` files of ``folder`` one by one through the Hook; as :func:`bulk`."""
    from airflow_provider_mi.exceptions import MediaIntelligenceError
    from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook

    hook = MediaIntelligenceHook()
    files = sorted(folder.iterdir())[:count]
    states: Counter[str] = Counter()
    started, cpu_started = time.perf_counter(), time.process_time()
    for path in files:
        try:
            completion = hook.upload_person_thumbnail(WORKSPACE, path.name, path.read_bytes())
        except MediaIntelligenceError:  # as the operator counts a failed file
            states["failed"] += 1
            continue
        states[completion.outcome().value] += 1
    return time.perf_counter() - started, time.process_time() - cpu_started, states


def main() -> None:
    args = parser(__doc__)
    args.add_argument("--mode", choices=("bulk", "loop"), required=True)
    args.add_argument("--folder", type=Path, required=True)
    args.add_argument("--count", type=int, default=0, help="files the loop uploads")
    args.add_argument("--concurrency", type=int, default=8, help="the bulk operator's max_concurrency")
    options = args.parse_args()
    configure_airflow_logging(options.out.with_suffix(".airflow.log"))
    if options.mode == "bulk":
        seconds, cpu, states = bulk(options.folder, options.concurrency)
    else:
        seconds, cpu, states = loop(options.folder, options.count)
    write_result(
        options.out,
        {
            "seconds": seconds,
            "cpu_s": round(cpu, 3),
            "images": sum(states.values()),
            "states": dict(states),
        },
    )


if __name__ == "__main__":
    main()
