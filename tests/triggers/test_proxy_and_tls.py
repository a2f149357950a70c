"""The trigger behind a real proxy and against the emulator over https, as a deferred sensor runs it."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from airflow_provider_mi.emulator import MediaIntelligenceEmulator
from airflow_provider_mi.triggers.person_thumbnail import MediaIntelligencePersonThumbnailUploadTrigger
from local_network import TestCA, clear_network_environment, connection_json, emulator_port, local_proxy

WORKSPACE = "trigger-proxy-workspace"
KEY = "persons/thumbnails/behind-a-proxy.png"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_network_environment(monkeypatch)


@pytest.fixture
def test_ca(tmp_path: Path) -> TestCA:
    return TestCA.create(tmp_path)


@pytest.fixture
def tls_emulator(test_ca: TestCA, monkeypatch: pytest.MonkeyPatch) -> Iterator[MediaIntelligenceEmulator]:
    """The emulator on https (the test CA signed it) with one uploaded thumbnail, ``ncp_mi_default`` on it."""
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300)).save(buffer, "PNG")
    with MediaIntelligenceEmulator(ssl_context=test_ca.server_context()) as emulator:
        emulator.state.store_thumbnail(WORKSPACE, KEY, buffer.getvalue())
        monkeypatch.setenv("AIRFLOW_CONN_NCP_MI_DEFAULT", connection_json(emulator))
        yield emulator


def events() -> list[dict]:
    """Run a trigger to its end in an event loop, as the triggerer does, and return its events."""
    trigger = MediaIntelligencePersonThumbnailUploadTrigger(
        thumbnail_key=KEY, workspace_name=WORKSPACE, poke_interval=0.05
    )

    async def collect() -> list[dict]:
        return [event.payload async for event in trigger.run()]

    return asyncio.run(asyncio.wait_for(collect(), timeout=30))


def test_the_trigger_polls_through_the_environment_proxy_trusting_its_ca(
    tls_emulator: MediaIntelligenceEmulator, test_ca: TestCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with local_proxy(tmp_path) as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(test_ca.pem))

        assert [event["status"] for event in events()] == ["success"]

        assert proxy.settle(emulator_port(tls_emulator), at_least=1) == 1
    assert [entry.status for entry in tls_emulator.state.requests_to("complete")] == [200]


def test_the_trigger_reports_an_untrusted_server_instead_of_waiting(
    tls_emulator: MediaIntelligenceEmulator,
) -> None:
    (event,) = events()  # one event, at once: no polling on, no timeout

    assert event["status"] == "error"
    assert "could not verify the server's TLS certificate" in event["message"]
    assert "'ca_bundle_path' extra or REQUESTS_CA_BUNDLE" in event["message"]
    assert tls_emulator.state.requests == []


def test_the_trigger_uses_the_proxy_url_extra(
    tls_emulator: MediaIntelligenceEmulator, test_ca: TestCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with local_proxy(tmp_path) as proxy:
        extras = {"proxy_url": proxy.url, "ca_bundle_path": str(test_ca.pem)}
        monkeypatch.setenv("AIRFLOW_CONN_NCP_MI_DEFAULT", connection_json(tls_emulator, **extras))

        assert [event["status"] for event in events()] == ["success"]

        assert proxy.settle(emulator_port(tls_emulator), at_least=1) == 1
