"""
Client CPU per completion call: the Hook against a raw ``requests.Session``, in one process.

The compared callers post the same body to the same server: ``hook`` (the provider's
``MediaIntelligenceHook.complete_person_thumbnail_upload``, logging as in an Airflow task) and
``raw_requests`` (an unsigned ``requests.Session.post`` that checks the status and decodes the
JSON). Two diagnostic callers tell where the difference goes: ``hook_without_logging`` (its INFO line
filtered out) and ``raw_requests_signed`` (the raw call plus the three signature headers, signed per
call). Each round runs a batch of each, in rotating order; CPU is ``time.process_time``. A
breakdown also times the hook's own steps alone, without HTTP.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.clients.common import WORKSPACE, configure_airflow_logging, parser, silence, write_result
from benchmarks.stats import median, rotated

THUMBNAIL_KEY = "persons/thumbnails/bench.jpg"
WARMUP_CALLS = 30


def cpu_per_call(call: Callable[[], Any], calls: int) -> float:
    """CPU seconds per call of ``call``, over ``calls`` calls."""
    started = time.process_time()
    for _ in range(calls):
        call()
    return (time.process_time() - started) / calls


def callers(url: str) -> dict[str, Callable[[], Any]]:
    """The ways to make the completion call, by name."""
    import requests

    from airflow_provider_mi.core.endpoints import complete_upload_request
    from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook

    hook = MediaIntelligenceHook()
    quiet_hook = MediaIntelligenceHook()
    silence(quiet_hook)
    request = complete_upload_request(WORKSPACE, THUMBNAIL_KEY)
    session = requests.Session()
    raw_url = url.rstrip("/") + request.path
    raw_headers = {"Content-Type": "application/json"}

    def raw_call() -> Any:
        response = session.post(raw_url, data=request.body, headers=raw_headers, timeout=30)
        response.raise_for_status()
        return response.json()

    def raw_signed_call() -> Any:
        headers = request.headers(hook.settings.access_key, hook.settings.secret_key)
        response = session.post(raw_url, data=request.body, headers=headers, timeout=30)
        response.raise_for_status()
        return response.json()

    return {
        "hook": lambda: hook.complete_person_thumbnail_upload(WORKSPACE, THUMBNAIL_KEY),
        "hook_without_logging": lambda: quiet_hook.complete_person_thumbnail_upload(WORKSPACE, THUMBNAIL_KEY),
        "raw_requests": raw_call,
        "raw_requests_signed": raw_signed_call,
    }


def breakdown(calls: int) -> dict[str, float]:
    """CPU microseconds of each of the hook's own steps, timed alone (no HTTP)."""
    from airflow_provider_mi.core.endpoints import complete_upload_request
    from airflow_provider_mi.core.pipeline import Answer, api_call, run
    from airflow_provider_mi.core.responses import parse_api_response, parse_completion
    from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook

    hook = MediaIntelligenceHook()
    settings = hook.settings
    request = complete_upload_request(WORKSPACE, THUMBNAIL_KEY)
    body = b'{"code":"0","message":"success","result":{"uploadStatus":"COMPLETED","uploadMessage":null}}'
    headers = {"Content-Type": "application/json"}
    completion = parse_completion(parse_api_response(200, headers, body), THUMBNAIL_KEY)

    answer = Answer(200, headers, body)

    def pipeline() -> None:
        run(api_call(request, settings, hook.log), lambda exchange: answer)

    steps: dict[str, Callable[[], Any]] = {
        "resolve_workspace": lambda: hook.workspace(WORKSPACE),
        "build_request": lambda: complete_upload_request(WORKSPACE, THUMBNAIL_KEY),
        "sign_headers": lambda: request.headers(settings.access_key, settings.secret_key),
        "pipeline_one_attempt": pipeline,
        "parse_answer": lambda: parse_completion(parse_api_response(200, headers, body), THUMBNAIL_KEY),
        "log_info_line": lambda: hook.log.info("Upload completion of %s", completion.describe()),
    }
    return {
        name: round(median([cpu_per_call(step, calls) for _ in range(5)]) * 1e6, 2)
        for name, step in steps.items()
    }


def main() -> None:
    args = parser(__doc__)
    args.add_argument("--url", required=True, help="base URL of the server")
    args.add_argument("--rounds", type=int, default=10)
    args.add_argument("--calls", type=int, default=300, help="calls per side and round")
    options = args.parse_args()
    configure_airflow_logging(Path(options.out).with_suffix(".airflow.log"))

    by_name = callers(options.url)
    for call in by_name.values():
        for _ in range(WARMUP_CALLS):
            call()
    rounds: dict[str, list[float]] = {name: [] for name in by_name}
    for round_number in range(options.rounds):
        for name in rotated(list(by_name), round_number):
            rounds[name].append(cpu_per_call(by_name[name], options.calls) * 1e6)
    write_result(
        options.out,
        {
            "cpu_us_per_call_by_round": rounds,
            "breakdown_us": breakdown(max(options.calls, 200)),
            "calls_per_round": options.calls,
            "environment_variables": len(os.environ),
        },
    )


if __name__ == "__main__":
    main()
