"""
The escape hatch, ``request(method, path, json, params)`` of both hooks, over real HTTP: signed,
rate-limited, retried and parsed like every wrapped call.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from airflow_provider_mi.core.rate_limit import COMPLETE_UPLOAD
from airflow_provider_mi.core.settings import RATE_LIMIT_EXTRAS
from airflow_provider_mi.emulator import Fault, MediaIntelligenceEmulator
from airflow_provider_mi.exceptions import MediaIntelligenceApiError
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceAsyncHook, MediaIntelligenceHook

WORKSPACE = "escape-hatch"
COMPLETE_PATH = f"/api/v1/workspaces/{WORKSPACE}/person-thumbnail/uploads/complete"


def sync_request(*args: Any, **kwargs: Any) -> dict[str, Any]:
    hook = MediaIntelligenceHook()
    try:
        return hook.request(*args, **kwargs)
    finally:
        hook.close()


def async_request(*args: Any, **kwargs: Any) -> dict[str, Any]:
    async def call() -> dict[str, Any]:
        hook = MediaIntelligenceAsyncHook()
        try:
            return await hook.request(*args, **kwargs)
        finally:
            await hook.close()

    return asyncio.run(call())


hooks = pytest.mark.parametrize("request_", [sync_request, async_request], ids=["sync", "async"])
Request = Callable[..., dict[str, Any] | Awaitable[dict[str, Any]]]


@hooks
def test_a_signed_get_returns_the_raw_result(request_: Request, mi_emulator: MediaIntelligenceEmulator):
    result = request_("GET", f"/api/v1/workspaces/{WORKSPACE}")
    assert result["workspaceName"] == WORKSPACE
    assert [(entry.method, entry.endpoint, entry.status) for entry in mi_emulator.state.requests] == [
        ("GET", "workspace", 200)
    ]


@hooks
def test_a_json_body_is_sent_and_transient_errors_retried(
    request_: Request, mi_emulator: MediaIntelligenceEmulator, waits: list[float]
):
    mi_emulator.state.inject("complete", Fault(503))
    result = request_("POST", COMPLETE_PATH, json={"thumbnailKey": "persons/thumbnails/none.png"})
    assert result == {"uploadStatus": "FAILED", "uploadMessage": "FILE_NOT_EXIST"}
    assert [entry.status for entry in mi_emulator.state.requests_to("complete")] == [503, 200]
    assert len(waits) == 1


@hooks
def test_an_error_answer_raises_as_for_wrapped_calls(
    request_: Request, mi_emulator: MediaIntelligenceEmulator
):
    with pytest.raises(MediaIntelligenceApiError, match="HTTP 404"):
        request_("GET", f"/api/v1/workspaces/{WORKSPACE}/no-such-thing", params={"pageNum": 1})
    [entry] = mi_emulator.state.requests
    assert entry.path == f"/api/v1/workspaces/{WORKSPACE}/no-such-thing"


@hooks
def test_it_counts_against_the_limit_of_the_endpoint_it_matches(
    request_: Request, mi_emulator: MediaIntelligenceEmulator, monkeypatch: pytest.MonkeyPatch
):
    # The gateway allows 3 completions in any 2 s, and the client counts 3 per "minute" of 2 s:
    # six calls through the escape hatch take two turns and draw no 429.
    mi_emulator.state.rate_limits = {"complete": (3, 2.0)}
    monkeypatch.setitem(RATE_LIMIT_EXTRAS, COMPLETE_UPLOAD, ("complete_calls_per_minute", 2.0))
    conn = {**json.loads(mi_emulator.connection_json()), "extra": {"complete_calls_per_minute": 3}}
    monkeypatch.setenv("AIRFLOW_CONN_NCP_MI_DEFAULT", json.dumps(conn))
    for number in range(6):
        request_("POST", COMPLETE_PATH, json={"thumbnailKey": f"persons/thumbnails/{number}.png"})
    assert mi_emulator.state.stats()["throttled"]["complete"] == 0
    assert [entry.status for entry in mi_emulator.state.requests_to("complete")] == [200] * 6
