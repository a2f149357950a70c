"""Fixtures of the hook tests."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from airflow_provider_mi.core import pipeline


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits between attempts of both hooks (the pipeline's sleeps), recorded instead of slept."""
    recorded: list[float] = []

    async def record_async(seconds: float) -> None:
        recorded.append(seconds)

    monkeypatch.setattr(pipeline, "time", SimpleNamespace(sleep=recorded.append, monotonic=time.monotonic))
    monkeypatch.setattr(pipeline, "asyncio", SimpleNamespace(sleep=record_async))
    return recorded
