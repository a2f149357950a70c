"""
Upload a folder of images through ``MediaIntelligenceBulkUploadPersonThumbnailsOperator`` with a
manifest, against the rate-limited emulator, time-scaled; note when each completion was answered.

The operator's ``execute`` runs over the whole folder as a worker would (a fresh manifest beside
``--out``), logging as an Airflow 3 task does. ``--minute-seconds`` and ``--second-seconds`` set the
periods the connection's completion and presigned-URL limits count over (the time scale); every
HTTP attempt of the hook is timed, and the answers to completion requests (and any 429) are written
out with the wall and CPU time and what became of each file.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

from benchmarks.clients.common import (
    WORKSPACE,
    configure_airflow_logging,
    count_calls_per,
    parser,
    write_result,
)


def instrument(completions: list[float], throttled: list[float]) -> None:
    """Note the ``time.monotonic()`` of each completion answer, and of each 429 on any endpoint."""
    from airflow_provider_mi.core.pipeline import Answer, Exchange, Failure
    from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook

    send = MediaIntelligenceHook._send

    @functools.wraps(send)
    def timed_send(self: MediaIntelligenceHook, exchange: Exchange) -> Answer | Failure:
        outcome = send(self, exchange)
        if isinstance(outcome, Answer):
            if outcome.status == 429:
                throttled.append(time.monotonic())
            elif exchange.url.endswith("/uploads/complete") and outcome.status < 400:
                completions.append(time.monotonic())
        return outcome

    MediaIntelligenceHook._send = timed_send  # type: ignore[method-assign]


def main() -> None:
    args = parser(__doc__)
    args.add_argument("--folder", type=Path, required=True)
    args.add_argument("--concurrency", type=int, default=8, help="the operator's max_concurrency")
    args.add_argument("--minute-seconds", type=float, required=True, help="the completion limit's period")
    args.add_argument("--second-seconds", type=float, required=True, help="the presigned-URL limit's period")
    options = args.parse_args()

    from airflow_provider_mi.core.rate_limit import COMPLETE_UPLOAD, PRESIGNED_URL

    count_calls_per(COMPLETE_UPLOAD, options.minute_seconds)
    count_calls_per(PRESIGNED_URL, options.second_seconds)
    configure_airflow_logging(options.out.with_suffix(".airflow.log"))
    from airflow_provider_mi.operators.bulk_upload import MediaIntelligenceBulkUploadPersonThumbnailsOperator

    completions: list[float] = []
    throttled: list[float] = []
    instrument(completions, throttled)
    manifest = options.out.with_name("manifest.json")
    operator = MediaIntelligenceBulkUploadPersonThumbnailsOperator(
        task_id="bulk",
        sources=str(options.folder),
        workspace_name=WORKSPACE,
        manifest_path=str(manifest),
        max_concurrency=options.concurrency,
        max_failed_files=10**9,  # count failures here instead of failing
    )
    started, cpu_started = time.monotonic(), time.process_time()
    summary: dict[str, Any] = operator.execute(context={})
    seconds, cpu = time.monotonic() - started, time.process_time() - cpu_started
    write_result(
        options.out,
        {
            "started": round(started, 4),
            "seconds": round(seconds, 3),
            "cpu_s": round(cpu, 3),
            "states": {state: summary[state] for state in ("completed", "waiting", "failed")},
            "completion_answer_times": [round(at, 4) for at in completions],
            "throttled_times": [round(at, 4) for at in throttled],
            "manifest_bytes": manifest.stat().st_size,
        },
    )


if __name__ == "__main__":
    main()
