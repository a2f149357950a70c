"""The trigger waiting for many keys at once (a bulk upload's ``waitingKeys``), against the emulator."""

from __future__ import annotations

import importlib
import json
import time

import pytest

from airflow_provider_mi.core.polling import CHECKS_AT_ONCE, KeysOutcome, WaitOutcome
from airflow_provider_mi.core.rate_limit import COMPLETE_UPLOAD
from airflow_provider_mi.core.settings import RATE_LIMIT_EXTRAS
from airflow_provider_mi.emulator import DEFAULT_SECRET_KEY, Fault
from airflow_provider_mi.exceptions import InvalidParameterError
from airflow_provider_mi.triggers.person_thumbnail import MediaIntelligencePersonThumbnailUploadTrigger
from triggers.test_person_thumbnail import WORKSPACE, events, png_bytes

COMPLETED = {"uploadStatus": "COMPLETED", "uploadMessage": None}


def make_trigger(keys: list[str], **kwargs) -> MediaIntelligencePersonThumbnailUploadTrigger:
    kwargs.setdefault("poke_interval", 0.05)
    return MediaIntelligencePersonThumbnailUploadTrigger(
        thumbnail_keys=keys, workspace_name=WORKSPACE, **kwargs
    )


def checks_of(emulator, key: str) -> int:
    return sum(entry.thumbnail_key == key for entry in emulator.state.requests_to("complete"))


def test_serializes_the_keys_only_as_plain_values(mi_emulator):
    keys = ["persons/thumbnails/a.png", "persons/thumbnails/b.png"]
    classpath, kwargs = make_trigger(keys, end_time=1234.5).serialize()
    assert kwargs["thumbnail_keys"] == keys
    assert "thumbnail_key" not in kwargs
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**json.loads(json.dumps(kwargs)))
    assert rebuilt.serialize() == (classpath, kwargs)
    text = json.dumps(kwargs)
    assert DEFAULT_SECRET_KEY not in text and mi_emulator.access_key not in text
    serde = pytest.importorskip("airflow.sdk.serde", reason="airflow.sdk.serde from 3.2")
    assert serde.deserialize(serde.serialize(kwargs)) == kwargs


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"thumbnail_keys": "persons/thumbnails/a.png"}, "non-empty list of thumbnail keys"),
        ({"thumbnail_keys": []}, "non-empty list of thumbnail keys"),
        ({"thumbnail_keys": ["ok", ""]}, r"thumbnail_keys\[1\] is empty"),
        ({"thumbnail_keys": ["a"], "thumbnail_key": "a"}, "exactly one of thumbnail_key and thumbnail_keys"),
        ({}, "exactly one of thumbnail_key and thumbnail_keys"),
    ],
)
def test_bad_keys_are_refused(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        MediaIntelligencePersonThumbnailUploadTrigger(**kwargs)


def test_one_event_for_all_keys_once_every_one_completed(mi_emulator):
    keys = [f"persons/thumbnails/face-{number}.png" for number in range(5)]
    for number, key in enumerate(keys):
        mi_emulator.state.store_thumbnail(WORKSPACE, key, png_bytes(), hidden_checks=number)
    [event] = events(make_trigger(keys))
    assert event["status"] == "success"
    assert sorted(event["completed"]) == keys
    assert event["failed"] == {} and event["waiting"] == {}
    assert json.loads(json.dumps(event)) == event, "plain JSON"
    # each key is checked until it completes, never after
    assert [checks_of(mi_emulator, key) for key in keys] == [1, 2, 3, 4, 5]


def test_some_complete_one_fails_for_good_one_never_comes(mi_emulator):
    done, late, small, never = (
        f"persons/thumbnails/{name}.png" for name in ("done", "late", "small", "never")
    )
    mi_emulator.state.store_thumbnail(WORKSPACE, done, png_bytes())
    mi_emulator.state.store_thumbnail(WORKSPACE, late, png_bytes(), hidden_checks=3)
    mi_emulator.state.store_thumbnail(WORKSPACE, small, png_bytes(100))
    started = time.time()
    [event] = events(make_trigger([done, late, small, never], end_time=started + 0.8))
    assert time.time() - started < 3
    assert event["status"] == "timeout"
    assert sorted(event["completed"]) == [done, late]
    assert event["failed"] == {small: {"uploadStatus": "FAILED", "uploadMessage": "RESOLUTION_NOT_SUPPORT"}}
    assert event["waiting"] == {never: f"thumbnail {never!r}: FAILED (FILE_NOT_EXIST)"}
    assert event["message"].startswith(f"Timed out while deferred. Of 4 thumbnails in workspace {WORKSPACE}")
    assert (
        f"1 not completed: {never!r} (last status: thumbnail {never!r}: FAILED (FILE_NOT_EXIST))"
        in (event["message"])
    )
    assert f"1 failed for good: {small!r} (RESOLUTION_NOT_SUPPORT)" in event["message"]
    assert (checks_of(mi_emulator, done), checks_of(mi_emulator, small)) == (1, 1)
    assert checks_of(mi_emulator, never) > 3, "the key not seen is checked until the deadline"
    outcome = KeysOutcome.from_event(event)
    assert outcome.status is WaitOutcome.TIMEOUT
    assert outcome.failed[small].reason == "RESOLUTION_NOT_SUPPORT"


def test_a_failure_for_good_does_not_end_the_wait_for_the_others(mi_emulator):
    late, small = "persons/thumbnails/late.png", "persons/thumbnails/small.png"
    mi_emulator.state.store_thumbnail(WORKSPACE, late, png_bytes(), hidden_checks=2)
    mi_emulator.state.store_thumbnail(WORKSPACE, small, png_bytes(100))
    [event] = events(make_trigger([small, late]))
    assert event["status"] == "failed"
    assert event["completed"] == [late]
    assert list(event["failed"]) == [small]
    assert event["waiting"] == {}


def test_a_round_stops_at_an_outage_and_counts_once(mi_emulator, monkeypatch):
    conn = json.loads(mi_emulator.connection_json())
    monkeypatch.setenv("AIRFLOW_CONN_MI_ONCE", json.dumps({**conn, "extra": {"max_attempts": 1}}))
    keys = [f"persons/thumbnails/face-{number}.png" for number in range(CHECKS_AT_ONCE + 4)]
    for key in keys:
        mi_emulator.state.store_thumbnail(WORKSPACE, key, png_bytes())
    mi_emulator.state.inject("complete", *[Fault(503)] * CHECKS_AT_ONCE)
    [event] = events(make_trigger(keys, mi_conn_id="mi_once", max_consecutive_errors=2))
    assert event["status"] == "success"
    statuses = [entry.status for entry in mi_emulator.state.requests_to("complete")]
    assert statuses == [503] * CHECKS_AT_ONCE + [200] * len(keys), "the rest of the first round not sent"


def test_gives_up_after_rounds_of_errors_naming_the_keys_not_done(mi_emulator, monkeypatch):
    conn = json.loads(mi_emulator.connection_json())
    monkeypatch.setenv("AIRFLOW_CONN_MI_ONCE", json.dumps({**conn, "extra": {"max_attempts": 1}}))
    keys = ["persons/thumbnails/a.png", "persons/thumbnails/b.png"]
    mi_emulator.state.inject("complete", *[Fault(503)] * 6)
    [event] = events(make_trigger(keys, mi_conn_id="mi_once", max_consecutive_errors=3))
    assert event["status"] == "error"
    assert event["error"]["type"] == "MediaIntelligenceGaveUpError"
    assert event["message"].startswith("Gave up after 3 checks in a row failed")
    assert "2 not completed: 'persons/thumbnails/a.png' (last status: transient error (" in event["message"]
    assert len(mi_emulator.state.requests_to("complete")) == 6


def test_rejected_credentials_end_the_wait_at_once(mi_emulator, monkeypatch):
    conn = json.loads(mi_emulator.connection_json())
    monkeypatch.setenv("AIRFLOW_CONN_MI_BAD", json.dumps({**conn, "password": "wrong"}))
    keys = ["persons/thumbnails/a.png", "persons/thumbnails/b.png"]
    [event] = events(make_trigger(keys, mi_conn_id="mi_bad"))
    assert event["status"] == "error"
    assert event["error"]["type"] == "MediaIntelligenceAuthenticationError"
    assert "wrong" not in json.dumps(event)
    assert sorted(event["waiting"]) == keys


def test_many_keys_wait_for_their_turn_under_the_rate_limit(mi_emulator, monkeypatch):
    # Ten times faster on both sides: 10 calls in any 6 s (a minute / 10). 15 keys, two hidden
    # for one check: 17 checks, so the trigger must wait for slots, and draws no 429.
    mi_emulator.state.rate_limits = {"complete": (10, 6.0)}
    monkeypatch.setitem(RATE_LIMIT_EXTRAS, COMPLETE_UPLOAD, ("complete_calls_per_minute", 6.0))
    conn = json.loads(mi_emulator.connection_json())
    conn["extra"] = {"complete_calls_per_minute": 10}
    monkeypatch.setenv("AIRFLOW_CONN_NCP_MI_DEFAULT", json.dumps(conn))
    keys = [f"persons/thumbnails/limited-{number}.png" for number in range(15)]
    for number, key in enumerate(keys):
        mi_emulator.state.store_thumbnail(WORKSPACE, key, png_bytes(), hidden_checks=int(number < 2))
    [event] = events(make_trigger(keys))
    assert event["status"] == "success" and len(event["completed"]) == 15
    assert mi_emulator.state.stats()["throttled"]["complete"] == 0
    assert len(mi_emulator.state.requests_to("complete")) == 17
