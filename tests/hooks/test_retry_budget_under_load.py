"""Waiting for a rate-limit slot does not use up the retry budget: a 5xx under load is still retried."""

from __future__ import annotations

import asyncio
import json

import pytest

from airflow_provider_mi.core.rate_limit import COMPLETE_UPLOAD
from airflow_provider_mi.core.settings import RATE_LIMIT_EXTRAS
from airflow_provider_mi.emulator import MediaIntelligenceEmulator, faults
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceAsyncHook, MediaIntelligenceHook

WORKSPACE = "budget-tests"
KEY = "persons/thumbnails/a.png"
#: One completion call per 1.5 s, and a retry budget of 1 s: each call waits longer for its slot
#: than the whole budget allows.
PERIOD_SECONDS = 1.5
BUDGET_SECONDS = 1


@pytest.fixture
def saturated(
    mi_emulator: MediaIntelligenceEmulator, monkeypatch: pytest.MonkeyPatch
) -> MediaIntelligenceEmulator:
    """The emulator behind a connection whose only completion slot is taken, answering 503 once."""
    monkeypatch.setitem(RATE_LIMIT_EXTRAS, COMPLETE_UPLOAD, ("complete_calls_per_minute", PERIOD_SECONDS))
    conn = json.loads(mi_emulator.connection_json())
    conn["extra"] = {"complete_calls_per_minute": 1, "retry_budget_seconds": BUDGET_SECONDS}
    monkeypatch.setenv("AIRFLOW_CONN_NCP_MI_DEFAULT", json.dumps(conn))
    hook = MediaIntelligenceHook()
    try:
        hook.complete_person_thumbnail_upload(WORKSPACE, KEY)  # the slot is free again in 1.5 s
    finally:
        hook.close()
    # Retry-After: 0, so that the retry itself adds no wait.
    mi_emulator.state.inject("complete", faults.http_error(503, retry_after="0"))
    return mi_emulator


def statuses(emulator: MediaIntelligenceEmulator) -> list[int]:
    return [entry.status for entry in emulator.state.requests_to("complete")]


def test_the_sync_hook_retries_a_5xx_after_waiting_for_its_slot(saturated: MediaIntelligenceEmulator) -> None:
    hook = MediaIntelligenceHook()
    try:
        completion = hook.complete_person_thumbnail_upload(WORKSPACE, KEY)
    finally:
        hook.close()
    assert completion.reason == "FILE_NOT_EXIST"
    assert statuses(saturated) == [200, 503, 200]


def test_the_async_hook_retries_a_5xx_after_waiting_for_its_slot(
    saturated: MediaIntelligenceEmulator,
) -> None:
    async def complete() -> str | None:
        hook = MediaIntelligenceAsyncHook()
        try:
            return (await hook.complete_person_thumbnail_upload(WORKSPACE, KEY)).reason
        finally:
            await hook.close()

    assert asyncio.run(asyncio.wait_for(complete(), timeout=30)) == "FILE_NOT_EXIST"
    assert statuses(saturated) == [200, 503, 200]
