"""
Pytest fixtures for testing DAGs against the emulator (registered through the ``pytest11`` entry point).

    def test_my_dag(mi_emulator):
        # AIRFLOW_CONN_NCP_MI_DEFAULT points at the emulator for this test
        ...
        assert mi_emulator.state.requests_to("complete")
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from airflow_provider_mi.emulator.server import MediaIntelligenceEmulator


@pytest.fixture
def mi_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[MediaIntelligenceEmulator]:
    """A running emulator on a free port, with connection ``ncp_mi_default`` pointing at it."""
    with MediaIntelligenceEmulator() as emulator:
        for name, value in emulator.airflow_env().items():
            monkeypatch.setenv(name, value)
        yield emulator
