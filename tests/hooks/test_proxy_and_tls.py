"""
Both hooks behind a real proxy (proxy.py) and against the emulator served over https by a test CA.

Each test runs the sync hook (requests) and the async hook (aiohttp) the same way, and reads the
proxy's own access log for which requests it tunnelled.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from airflow_provider_mi.emulator import MediaIntelligenceEmulator
from airflow_provider_mi.exceptions import MediaIntelligenceConnectionError, MediaIntelligenceError
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceAsyncHook, MediaIntelligenceHook
from local_network import (
    PROXY_PASSWORD,
    LocalProxy,
    TestCA,
    clear_network_environment,
    connection_json,
    emulator_port,
    local_proxy,
)

WORKSPACE = "proxy-tests"
KEY = "persons/thumbnails/a.png"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_network_environment(monkeypatch)


@pytest.fixture(scope="module")
def test_ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA.create(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def tls_emulator(test_ca: TestCA) -> Iterator[MediaIntelligenceEmulator]:
    """The emulator on https://127.0.0.1, its certificate signed by the test CA."""
    with MediaIntelligenceEmulator(ssl_context=test_ca.server_context()) as emulator:
        yield emulator


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[LocalProxy]:
    with local_proxy(tmp_path) as running:
        yield running


@pytest.fixture
def connect(
    tls_emulator: MediaIntelligenceEmulator, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., MediaIntelligenceEmulator]:
    """``connect(**extras)``: point ``ncp_mi_default`` at the https emulator, with these extras."""

    def define(**extras: object) -> MediaIntelligenceEmulator:
        monkeypatch.setenv("AIRFLOW_CONN_NCP_MI_DEFAULT", connection_json(tls_emulator, **extras))
        return tls_emulator

    return define


def complete_sync() -> str | None:
    hook = MediaIntelligenceHook()
    try:
        return hook.complete_person_thumbnail_upload(WORKSPACE, KEY).reason
    finally:
        hook.close()  # closes the tunnel, which the proxy then logs


def complete_async() -> str | None:
    async def run() -> str | None:
        hook = MediaIntelligenceAsyncHook()
        try:
            return (await hook.complete_person_thumbnail_upload(WORKSPACE, KEY)).reason
        finally:
            await hook.close()

    return asyncio.run(asyncio.wait_for(run(), timeout=60))


complete = pytest.mark.parametrize("complete", [complete_sync, complete_async], ids=["sync", "async"])


def make_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), (20, 90, 160)).save(buffer, format="PNG")
    return buffer.getvalue()


# --- through the proxy ----------------------------------------------------------------------------


@complete
def test_the_proxy_url_extra_tunnels_every_request(complete, connect, proxy: LocalProxy, test_ca: TestCA):
    emulator = connect(proxy_url=proxy.url, ca_bundle_path=str(test_ca.pem))

    assert complete() == "FILE_NOT_EXIST"
    assert complete() == "FILE_NOT_EXIST"

    # Two calls, each by a client of its own: two tunnels, opened with the proxy's credentials.
    assert proxy.settle(emulator_port(emulator), at_least=2) == 2
    assert [entry.status for entry in emulator.state.requests_to("complete")] == [200, 200]


@complete
def test_https_proxy_in_the_environment_tunnels_every_request(
    complete, connect, proxy: LocalProxy, test_ca: TestCA, monkeypatch: pytest.MonkeyPatch
):
    emulator = connect()
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(test_ca.pem))

    assert complete() == "FILE_NOT_EXIST"

    assert proxy.settle(emulator_port(emulator), at_least=1) == 1


@complete
@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.1:1,127.0.0.0/8", "*"])
def test_no_proxy_bypasses_the_environment_proxy(
    complete, no_proxy, connect, proxy: LocalProxy, test_ca: TestCA, monkeypatch: pytest.MonkeyPatch
):
    emulator = connect()
    monkeypatch.setenv("https_proxy", proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(test_ca.pem))

    assert complete() == "FILE_NOT_EXIST"

    assert proxy.settle(emulator_port(emulator)) == 0
    assert [entry.status for entry in emulator.state.requests_to("complete")] == [200]


def test_the_whole_upload_flow_goes_through_the_proxy(connect, proxy: LocalProxy, test_ca: TestCA):
    emulator = connect(proxy_url=proxy.url, ca_bundle_path=str(test_ca.pem), workspace_name=WORKSPACE)
    port = emulator_port(emulator)
    hook = MediaIntelligenceHook()
    try:
        presigned = hook.create_presigned_upload(None, "face.png")
        hook.close()  # a new connection for each step: each one's tunnel is counted apart
        proxy.wait_for(lambda seen: seen.tunnels_to(port) == 1)
        hook.put_thumbnail(presigned, make_png())  # the presigned URL, to the object storage
        hook.close()
        proxy.wait_for(lambda seen: seen.tunnels_to(port) == 2)
        completion = hook.complete_person_thumbnail_upload(None, presigned.thumbnail_key)
    finally:
        hook.close()
    assert completion.to_api_dict() == {"uploadStatus": "COMPLETED", "uploadMessage": None}
    assert proxy.settle(port, at_least=3) == 3
    assert [entry.endpoint for entry in emulator.state.requests] == ["presigned-url", "storage", "complete"]


@complete
def test_wrong_proxy_credentials_say_so_without_the_password(
    complete, connect, proxy: LocalProxy, test_ca: TestCA, waits, caplog
):
    wrong = proxy.url.replace(PROXY_PASSWORD, "wrong-proxy-password-1234")
    connect(proxy_url=wrong, ca_bundle_path=str(test_ca.pem), max_attempts=1)

    with caplog.at_level(logging.DEBUG), pytest.raises(MediaIntelligenceConnectionError) as info:
        complete()

    message = str(info.value)
    assert "could not get through the proxy" in message
    assert "'proxy_url' extra" in message
    for text in (message, caplog.text):
        assert "wrong-proxy-password-1234" not in text
        assert PROXY_PASSWORD not in text


# --- trusting the test CA -------------------------------------------------------------------------


@complete
def test_the_ca_bundle_extra_is_trusted(complete, connect, test_ca: TestCA):
    connect(ca_bundle_path=str(test_ca.pem))
    assert complete() == "FILE_NOT_EXIST"


@complete
@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"])
def test_the_ca_bundle_of_the_environment_is_trusted(
    complete, variable, connect, test_ca: TestCA, monkeypatch: pytest.MonkeyPatch
):
    connect()
    monkeypatch.setenv(variable, str(test_ca.pem))
    assert complete() == "FILE_NOT_EXIST"


@complete
def test_the_extra_wins_over_the_environment(
    complete, connect, test_ca: TestCA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    connect(ca_bundle_path=str(test_ca.pem))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(TestCA.create(tmp_path, "other-ca.pem").pem))
    assert complete() == "FILE_NOT_EXIST"


@complete
@pytest.mark.parametrize("through_proxy", [False, True], ids=["direct", "proxied"])
def test_an_untrusted_server_fails_at_once_with_a_tls_error(
    complete, through_proxy, connect, proxy: LocalProxy, tmp_path: Path, waits
):
    # Trusting another CA: the emulator's certificate is not trusted.
    other = TestCA.create(tmp_path, "other-ca.pem")
    emulator = connect(ca_bundle_path=str(other.pem), **({"proxy_url": proxy.url} if through_proxy else {}))

    with pytest.raises(MediaIntelligenceError) as info:
        complete()

    assert not info.value.retryable  # not retried, and a trigger stops instead of polling on
    message = str(info.value)
    assert "could not verify the server's TLS certificate" in message
    assert "'ca_bundle_path' extra or REQUESTS_CA_BUNDLE" in message
    assert waits == []
    assert emulator.state.requests == []  # the handshake failed: nothing was sent
    if through_proxy:
        assert proxy.settle(emulator_port(emulator), at_least=1) == 1


@complete
def test_verify_ssl_false_trusts_anything_whatever_the_environment_says(
    complete, connect, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    connect(verify_ssl=False)
    # requests on its own lets this override verify=False; the connection's word must win.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(TestCA.create(tmp_path, "other-ca.pem").pem))
    assert complete() == "FILE_NOT_EXIST"


def test_the_proxy_password_is_masked_in_logs_and_kept_out_of_repr(connect, proxy: LocalProxy, monkeypatch):
    from airflow.providers.common.compat.sdk import redact

    connect(proxy_url=proxy.url)
    env_password = "env-proxy-Pa55-unseen"
    monkeypatch.setenv("HTTP_PROXY", f"http://someone:{env_password}@127.0.0.1:1")
    hook = MediaIntelligenceHook()
    settings = hook.settings  # reading the connection registers the passwords with the masker

    for password in (PROXY_PASSWORD, env_password):
        assert password not in str(redact(f"a log line holding {password}"))
        assert password not in repr(settings)
