"""
The secret key, the signatures and the signed headers stay out of everything the provider makes:
``repr``/``str`` of hooks, settings and operators, rendered template fields, return values (XCom),
the trigger's serialized kwargs, exceptions and log records, in this process, against the emulator.
Secrets derived from the connection are registered with Airflow's secrets masker.

``tests/e2e/test_secrets_in_airflow_home.py`` does the same through real DAG runs, down to the
database's bytes.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import TaskDeferred, redact
from PIL import Image

from airflow_provider_mi.core.signing import ACCESS_KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER
from airflow_provider_mi.emulator import MediaIntelligenceEmulator, faults
from airflow_provider_mi.exceptions import MediaIntelligenceAuthenticationError, MediaIntelligenceError
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceAsyncHook, MediaIntelligenceHook
from airflow_provider_mi.operators.person_thumbnail import (
    MediaIntelligenceCompletePersonThumbnailUploadOperator,
    MediaIntelligenceUploadPersonThumbnailOperator,
)
from airflow_provider_mi.sensors.person_thumbnail import MediaIntelligencePersonThumbnailUploadSensor

WORKSPACE = "secret-ws"
ACCESS_KEY = "secrets-access-key"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 300), (1, 2, 3)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def secret() -> str:
    """A secret key seen nowhere before this test."""
    return f"secret-{secrets.token_hex(16)}"


@pytest.fixture
def emulator(secret: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[MediaIntelligenceEmulator]:
    """An emulator knowing ``secret``; ``ncp_mi_default`` points at it, ``mi_wrong`` has another secret."""
    with MediaIntelligenceEmulator(credentials={ACCESS_KEY: secret}, visibility_delay=0) as running:
        conn = json.loads(running.connection_json())
        monkeypatch.setenv("AIRFLOW_CONN_NCP_MI_DEFAULT", json.dumps(conn))
        monkeypatch.setenv("AIRFLOW_CONN_MI_WRONG", json.dumps({**conn, "password": f"wrong-{secret}"}))
        yield running


def assert_clean(texts: list[str], secret: str, emulator: MediaIntelligenceEmulator) -> None:
    """No secret key, signature or signed header (name) in any of ``texts``."""
    signatures = [entry.signature for entry in emulator.state.requests if entry.signature]
    assert signatures, "nothing was signed: the check would prove nothing"
    for text in texts:
        assert secret not in text
        assert all(signature not in text for signature in signatures), text
        for header in (SIGNATURE_HEADER, TIMESTAMP_HEADER, ACCESS_KEY_HEADER):
            assert header not in text.lower()


def test_hooks_settings_and_errors(secret: str, emulator: MediaIntelligenceEmulator) -> None:
    emulator.state.store_thumbnail(WORKSPACE, "persons/a.png", png())
    emulator.state.inject("complete", faults.reset())
    hook, wrong = MediaIntelligenceHook(), MediaIntelligenceHook(mi_conn_id="mi_wrong")
    texts: list[str] = []

    async def use_async_hook() -> tuple[Any, BaseException]:
        async_hook, async_wrong = (
            MediaIntelligenceAsyncHook(),
            MediaIntelligenceAsyncHook(mi_conn_id="mi_wrong"),
        )
        try:
            completion = await async_hook.complete_person_thumbnail_upload(WORKSPACE, "persons/a.png")
            with pytest.raises(MediaIntelligenceAuthenticationError) as caught:
                await async_wrong.complete_person_thumbnail_upload(WORKSPACE, "persons/a.png")
            texts.extend([repr(async_hook), str(async_hook), repr(await async_hook.get_settings())])
        finally:
            await async_hook.close()
            await async_wrong.close()
        return completion, caught.value

    try:
        completion = hook.complete_person_thumbnail_upload(WORKSPACE, "persons/a.png")
        with pytest.raises(MediaIntelligenceAuthenticationError) as caught:
            wrong.complete_person_thumbnail_upload(WORKSPACE, "persons/a.png")
        async_completion, async_error = asyncio.run(asyncio.wait_for(use_async_hook(), timeout=30))
    finally:
        hook.close()
        wrong.close()

    assert hook.settings.secret_key == secret
    errors: list[BaseException] = [caught.value, async_error]
    texts += [repr(hook), str(hook), repr(hook.settings), str(hook.settings), repr(wrong.settings)]
    texts += [f"{error} {error!r} {error.args}" for error in errors]
    texts += [repr(completion), json.dumps(completion.to_api_dict()), repr(async_completion)]
    assert_clean(texts, secret, emulator)
    assert f"wrong-{secret}" not in " ".join(texts)
    # Whatever logs the secrets, Airflow's masker hides them (registered where they are read).
    assert redact(f"key {secret} and wrong-{secret}") == "key *** and ***"


def test_operators_their_rendered_fields_and_return_values(
    secret: str, emulator: MediaIntelligenceEmulator, tmp_path
) -> None:
    image = tmp_path / "face.png"
    image.write_bytes(png())
    upload = MediaIntelligenceUploadPersonThumbnailOperator(
        task_id="upload", file_path=str(image), workspace_name=WORKSPACE
    )
    returned = upload.execute({})
    complete = MediaIntelligenceCompletePersonThumbnailUploadOperator(
        task_id="complete", thumbnail_key=returned["thumbnailKey"], workspace_name=WORKSPACE
    )
    returned_too = complete.execute({})

    assert returned_too == {"uploadStatus": "COMPLETED", "uploadMessage": None}
    texts = [repr(upload), str(upload), repr(complete), repr(upload.hook), repr(vars(complete.hook))]
    texts += [json.dumps(returned), json.dumps(returned_too)]
    texts += [repr({name: getattr(op, name) for name in op.template_fields}) for op in (upload, complete)]
    assert_clean(texts, secret, emulator)
    # The presigned URL authorises the upload by itself: it is in none of these.
    [put] = emulator.state.requests_to("storage")
    token = put.path.rsplit("/", 1)[1]
    assert token not in " ".join(texts)


def test_presigned_urls_are_masked_when_urllib3_would_log_them(
    secret: str, emulator: MediaIntelligenceEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    hook = MediaIntelligenceHook()
    try:
        caplog.set_level(logging.INFO, logger="urllib3.connectionpool")
        quiet = hook.create_presigned_upload(WORKSPACE, "quiet.png")
        caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")
        logged = hook.create_presigned_upload(WORKSPACE, "logged.png")
    finally:
        hook.close()
    # Registering a secret costs more with each one the masker holds: only when urllib3 logs
    # request lines (DEBUG) is the URL registered, with its path and query.
    assert redact(quiet.url) == quiet.url
    assert redact(logged.url) == "***"
    path = logged.url.removeprefix(emulator.url)
    assert redact(f'"PUT {path} HTTP/1.1" 200 0') == '"PUT *** HTTP/1.1" 200 0'


def test_the_trigger_of_a_deferring_sensor_holds_no_secret(
    secret: str, emulator: MediaIntelligenceEmulator
) -> None:
    sensor = MediaIntelligencePersonThumbnailUploadSensor(
        task_id="wait", thumbnail_key="persons/later.png", workspace_name=WORKSPACE, deferrable=True
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})

    classpath, kwargs = deferred.value.trigger.serialize()
    texts = [
        json.dumps(kwargs),
        repr(deferred.value),
        repr(deferred.value.trigger),
        repr(sensor),
        repr(sensor.hook),
    ]
    assert_clean(texts, secret, emulator)
    assert classpath.endswith("MediaIntelligencePersonThumbnailUploadTrigger")
    assert kwargs["mi_conn_id"] == "ncp_mi_default"


def test_log_records_and_output(
    secret: str,
    emulator: MediaIntelligenceEmulator,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """What the provider, requests and urllib3 log, at DEBUG, before Airflow masks anything."""
    emulator.state.inject(
        "complete", faults.http_error(503, "0"), faults.truncated(), faults.PASS, faults.http_error(401)
    )
    caplog.set_level(logging.DEBUG)
    # Whatever an earlier test or Airflow's logging set on urllib3's own logger, it logs at DEBUG here.
    caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")
    hook = MediaIntelligenceHook()
    try:
        hook.upload_person_thumbnail(WORKSPACE, "logged.png", png())
        with pytest.raises(MediaIntelligenceError):
            hook.complete_person_thumbnail_upload(WORKSPACE, "persons/logged.png")
    finally:
        hook.close()

    records = [record.getMessage() for record in caplog.records]
    logged = "\n".join([*records, *capfd.readouterr()])
    assert "Attempt 1 of 5 failed" in logged
    assert "Attempt 2 of 5 failed" in logged
    assert_clean([logged], secret, emulator)
    # urllib3 logs the upload's request line at DEBUG; the masker hides its authorising path.
    put = emulator.state.requests_to("storage")[0].path
    assert redact(f'"PUT {put} HTTP/1.1" 200 0') == '"PUT *** HTTP/1.1" 200 0'
