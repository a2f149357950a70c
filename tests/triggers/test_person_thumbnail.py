"""The trigger on its own: what it serializes, and the one event it yields, against the emulator."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import time

import aiohttp
import pytest

from airflow_provider_mi.core.rate_limit import COMPLETE_UPLOAD
from airflow_provider_mi.core.settings import RATE_LIMIT_EXTRAS
from airflow_provider_mi.emulator import DEFAULT_SECRET_KEY, Fault
from airflow_provider_mi.exceptions import InvalidParameterError
from airflow_provider_mi.triggers.person_thumbnail import MediaIntelligencePersonThumbnailUploadTrigger

WORKSPACE = "trigger-workspace"


def make_trigger(
    key: str = "persons/thumbnails/face.png", **kwargs
) -> MediaIntelligencePersonThumbnailUploadTrigger:
    kwargs.setdefault("poke_interval", 0.05)
    return MediaIntelligencePersonThumbnailUploadTrigger(
        thumbnail_key=key, workspace_name=WORKSPACE, **kwargs
    )


def events(trigger: MediaIntelligencePersonThumbnailUploadTrigger) -> list[dict]:
    """Run the trigger to its end and return every event payload it yielded."""

    async def collect() -> list[dict]:
        return [event.payload async for event in trigger.run()]

    return asyncio.run(asyncio.wait_for(collect(), timeout=30))


def png_bytes(size: int = 300) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (size, size)).save(buffer, "PNG")
    return buffer.getvalue()


def test_serialize_round_trip_holds_only_plain_values():
    trigger = make_trigger(
        mi_conn_id="my_conn",
        waiting_reasons={"FILE_NOT_EXIST"},
        end_time=1234.5,
        max_consecutive_errors=3,
        consecutive_errors=1,
        exponential_backoff=True,
        max_wait=30,
    )
    classpath, kwargs = trigger.serialize()
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))
    assert rebuilt.serialize() == (classpath, kwargs)
    assert kwargs == {
        "thumbnail_key": "persons/thumbnails/face.png",
        "workspace_name": WORKSPACE,
        "mi_conn_id": "my_conn",
        "poke_interval": 0.05,
        "waiting_reasons": ["FILE_NOT_EXIST"],
        "end_time": 1234.5,
        "max_consecutive_errors": 3,
        "consecutive_errors": 1,
        "exponential_backoff": True,
        "max_wait": 30.0,
    }


def test_serialized_kwargs_survive_airflow_serde():
    serde = pytest.importorskip(
        "airflow.sdk.serde", reason="airflow.sdk.serde serializes trigger kwargs from 3.2"
    )
    _, kwargs = make_trigger().serialize()
    assert serde.deserialize(serde.serialize(kwargs)) == kwargs


def test_serialized_kwargs_never_hold_credentials(mi_emulator):
    _, kwargs = make_trigger().serialize()
    text = json.dumps(kwargs)
    assert DEFAULT_SECRET_KEY not in text
    assert mi_emulator.access_key not in text


def test_yields_one_success_event_once_completed(mi_emulator):
    mi_emulator.state.store_thumbnail(WORKSPACE, "persons/thumbnails/face.png", png_bytes(), hidden_checks=2)
    [event] = events(make_trigger())
    assert event["status"] == "success"
    assert event["result"] == {"uploadStatus": "COMPLETED", "uploadMessage": None}
    assert len(mi_emulator.state.requests_to("complete")) == 3


def test_yields_failed_event_for_a_permanent_reason(mi_emulator):
    mi_emulator.state.store_thumbnail(WORKSPACE, "persons/thumbnails/face.png", png_bytes(100))
    [event] = events(make_trigger())
    assert event["status"] == "failed"
    assert event["result"] == {"uploadStatus": "FAILED", "uploadMessage": "RESOLUTION_NOT_SUPPORT"}
    assert "RESOLUTION_NOT_SUPPORT" in event["message"]


def test_yields_error_event_on_authentication_failure(mi_emulator, monkeypatch):
    conn = json.loads(mi_emulator.connection_json())
    monkeypatch.setenv("AIRFLOW_CONN_MI_BAD", json.dumps({**conn, "password": "wrong"}))
    [event] = events(make_trigger(mi_conn_id="mi_bad"))
    assert event["status"] == "error"
    assert "Authentication Failed" in event["message"]
    assert "wrong" not in event["message"]
    assert len(mi_emulator.state.requests_to("complete")) == 1


def test_keeps_polling_through_transient_errors(mi_emulator):
    mi_emulator.state.store_thumbnail(WORKSPACE, "persons/thumbnails/face.png", png_bytes())
    faults = [Fault(503, headers=(("Retry-After", "0"),))] * 6
    mi_emulator.state.inject("complete", *faults)
    [event] = events(make_trigger())
    assert event["status"] == "success"
    assert [e.status for e in mi_emulator.state.requests_to("complete")] == [503] * 6 + [200]


def test_yields_timeout_event_at_end_time(mi_emulator):
    [event] = events(make_trigger(end_time=time.time() + 0.3))
    assert event["status"] == "timeout"
    assert "last status: thumbnail 'persons/thumbnails/face.png': FAILED (FILE_NOT_EXIST)" in event["message"]


def test_one_http_session_for_all_polls(mi_emulator, monkeypatch):
    mi_emulator.state.store_thumbnail(WORKSPACE, "persons/thumbnails/face.png", png_bytes(), hidden_checks=3)
    opened = []
    original = aiohttp.ClientSession.__init__

    def counting_init(self, *args, **kwargs):
        opened.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(aiohttp.ClientSession, "__init__", counting_init)
    [event] = events(make_trigger())
    assert event["status"] == "success"
    assert len(mi_emulator.state.requests_to("complete")) == 4
    assert len(opened) == 1
    assert opened[0].closed


def test_triggers_of_one_loop_share_one_lookup_and_one_session(mi_emulator, monkeypatch):
    from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceAsyncHook

    keys = [f"persons/thumbnails/face-{number}.png" for number in range(20)]
    for number, key in enumerate(keys):
        mi_emulator.state.store_thumbnail(WORKSPACE, key, png_bytes(), hidden_checks=number % 3)
    opened, lookups = [], []
    original_init, original_read = aiohttp.ClientSession.__init__, MediaIntelligenceAsyncHook._read_settings

    def counting_init(self, *args, **kwargs):
        opened.append(self)
        original_init(self, *args, **kwargs)

    async def counting_read(self):
        lookups.append(self.mi_conn_id)
        return await original_read(self)

    monkeypatch.setattr(aiohttp.ClientSession, "__init__", counting_init)
    monkeypatch.setattr(MediaIntelligenceAsyncHook, "_read_settings", counting_read)

    async def run_all() -> list[list[dict]]:
        async def collect(trigger: MediaIntelligencePersonThumbnailUploadTrigger) -> list[dict]:
            return [event.payload async for event in trigger.run()]

        return await asyncio.gather(*(collect(make_trigger(key)) for key in keys))

    results = asyncio.run(asyncio.wait_for(run_all(), timeout=30))
    assert [[event["status"] for event in result] for result in results] == [["success"]] * len(keys)
    assert lookups == ["ncp_mi_default"]
    assert len(opened) == 1
    assert opened[0].closed


def test_many_triggers_wait_for_their_turn_instead_of_drawing_429s(mi_emulator, monkeypatch):
    # Time runs ten times faster, on both sides: the gateway allows 10 calls in any 6 s, and the
    # client counts its 10 calls per "minute" over 6 s. The first ten triggers poll at once, the
    # other five wait for slots to free up, and none is refused.
    mi_emulator.state.rate_limits = {"complete": (10, 6.0)}
    monkeypatch.setitem(RATE_LIMIT_EXTRAS, COMPLETE_UPLOAD, ("complete_calls_per_minute", 6.0))
    conn = json.loads(mi_emulator.connection_json())
    conn["extra"] = {"complete_calls_per_minute": 10}
    monkeypatch.setenv("AIRFLOW_CONN_NCP_MI_DEFAULT", json.dumps(conn))
    keys = [f"persons/thumbnails/limited-{number}.png" for number in range(15)]
    for key in keys:
        mi_emulator.state.store_thumbnail(WORKSPACE, key, png_bytes())

    async def run_all() -> list[list[dict]]:
        async def collect(trigger: MediaIntelligencePersonThumbnailUploadTrigger) -> list[dict]:
            return [event.payload async for event in trigger.run()]

        return await asyncio.gather(*(collect(make_trigger(key)) for key in keys))

    results = asyncio.run(asyncio.wait_for(run_all(), timeout=60))
    assert [[event["status"] for event in result] for result in results] == [["success"]] * len(keys)
    assert mi_emulator.state.stats()["throttled"]["complete"] == 0
    assert [entry.status for entry in mi_emulator.state.requests_to("complete")] == [200] * len(keys)


@pytest.mark.parametrize("poke_interval", [0, -5, float("nan")])
def test_a_trigger_built_directly_refuses_a_busy_loop(poke_interval):
    with pytest.raises(InvalidParameterError, match="poke_interval must be a positive number"):
        make_trigger(poke_interval=poke_interval)


def test_says_each_new_status_once_at_info(mi_emulator, caplog, capfd):
    mi_emulator.state.store_thumbnail(WORKSPACE, "persons/thumbnails/face.png", png_bytes(), hidden_checks=4)
    caplog.set_level(logging.INFO)
    [event] = events(make_trigger())
    assert event["status"] == "success"
    records = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    printed = [line for line in capfd.readouterr().out.splitlines() if "[info" in line or "[debug" in line]
    logged = records or printed  # Airflow 2 logs through logging, Airflow 3 prints with structlog
    assert sum("Still waiting" in line for line in logged) == 1
    assert len(mi_emulator.state.requests_to("complete")) == 5


def test_concurrent_first_users_of_a_shared_hook_open_one_session(mi_emulator):
    from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceAsyncHook

    async def main() -> int:
        hook = MediaIntelligenceAsyncHook()
        try:  # twenty users ask at once, before the connection was ever read
            sessions = await asyncio.gather(*(hook._get_session() for _ in range(20)))
            return len({id(session) for session in sessions})
        finally:
            await hook.close()

    assert asyncio.run(main()) == 1


def test_checks_once_more_at_the_deadline_before_giving_up(mi_emulator):
    # Checks at 0 s and 0.6 s see nothing; the next interval would end past the deadline (1 s),
    # so the trigger checks at the deadline itself, and that check finds the upload.
    mi_emulator.state.store_thumbnail(WORKSPACE, "persons/thumbnails/face.png", png_bytes(), hidden_checks=2)
    [event] = events(make_trigger(poke_interval=0.6, end_time=time.time() + 1.0))
    assert event["status"] == "success"
    assert len(mi_emulator.state.requests_to("complete")) == 3


def test_gives_up_after_max_consecutive_errors_with_the_last_error(mi_emulator, monkeypatch):
    conn = json.loads(mi_emulator.connection_json())
    monkeypatch.setenv("AIRFLOW_CONN_MI_ONCE", json.dumps({**conn, "extra": {"max_attempts": 1}}))
    mi_emulator.state.inject("complete", *[Fault(503)] * 10)
    [event] = events(make_trigger(mi_conn_id="mi_once", max_consecutive_errors=3, end_time=time.time() + 20))
    assert event["status"] == "error"
    assert event["message"].startswith("Gave up after 3 checks in a row failed (max_consecutive_errors=3)")
    assert "HTTP 503" in event["message"]
    assert event["error"]["type"] == "MediaIntelligenceGaveUpError"
    assert len(mi_emulator.state.requests_to("complete")) == 3


def test_an_answer_ends_an_error_streak(mi_emulator, monkeypatch):
    conn = json.loads(mi_emulator.connection_json())
    monkeypatch.setenv("AIRFLOW_CONN_MI_ONCE", json.dumps({**conn, "extra": {"max_attempts": 1}}))
    mi_emulator.state.store_thumbnail(WORKSPACE, "persons/thumbnails/face.png", png_bytes(), hidden_checks=2)
    mi_emulator.state.inject("complete", Fault(503), Fault(None), Fault(503), Fault(None), Fault(503))
    [event] = events(make_trigger(mi_conn_id="mi_once", max_consecutive_errors=2))
    assert event["status"] == "success"
    assert [e.status for e in mi_emulator.state.requests_to("complete")] == [503, 200, 503, 200, 503, 200]


def test_errors_before_deferring_count_towards_the_streak(mi_emulator, monkeypatch):
    conn = json.loads(mi_emulator.connection_json())
    monkeypatch.setenv("AIRFLOW_CONN_MI_ONCE", json.dumps({**conn, "extra": {"max_attempts": 1}}))
    mi_emulator.state.inject("complete", *[Fault(503)] * 5)
    trigger = make_trigger(mi_conn_id="mi_once", max_consecutive_errors=3, consecutive_errors=2)
    [event] = events(trigger)
    assert event["error"]["type"] == "MediaIntelligenceGaveUpError"
    assert len(mi_emulator.state.requests_to("complete")) == 1


def test_an_error_event_carries_the_error_kind(mi_emulator, monkeypatch):
    conn = json.loads(mi_emulator.connection_json())
    monkeypatch.setenv("AIRFLOW_CONN_MI_BAD", json.dumps({**conn, "password": "wrong"}))
    [event] = events(make_trigger(mi_conn_id="mi_bad"))
    assert json.loads(json.dumps(event)) == event, "plain JSON"
    assert event["error"]["type"] == "MediaIntelligenceAuthenticationError"
    assert (event["error"]["status"], event["error"]["code"], event["error"]["envelope"]) == (
        401,
        "200",
        "gateway",
    )
    assert "Check the connection's access key" in event["error"]["hint"]


@pytest.mark.parametrize(
    ("backoff", "max_wait", "expected"),
    [
        (False, None, [0.5, 0.5, 0.5, 0.5]),
        (True, None, "doubling"),
        (True, 2.5, "capped"),
    ],
)
def test_honours_exponential_backoff_and_max_wait(mi_emulator, monkeypatch, backoff, max_wait, expected):
    mi_emulator.state.store_thumbnail(WORKSPACE, "persons/thumbnails/face.png", png_bytes(), hidden_checks=4)
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("airflow_provider_mi.triggers.person_thumbnail.asyncio.sleep", record)
    [event] = events(make_trigger(poke_interval=0.5, exponential_backoff=backoff, max_wait=max_wait))
    assert event["status"] == "success"
    if expected == "doubling":  # Airflow's backoff from poke 2 on: [1, 2), [1, 2), [2, 4), [4, 8) seconds
        lows = [1, 1, 2, 4]
        assert all(low <= wait < 2 * low for low, wait in zip(lows, slept, strict=True)), slept
    elif expected == "capped":
        assert max(slept) == 2.5 and len(slept) == 4, slept
    else:
        assert slept == expected
