"""Both hooks sharing the API's limits through a real Redis named by an Airflow Redis connection."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from airflow_provider_mi.core import limiter, redis_limiter
from airflow_provider_mi.emulator import MediaIntelligenceEmulator
from airflow_provider_mi.exceptions import InvalidParameterError
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceAsyncHook, MediaIntelligenceHook
from redis_server import RedisServer

redis = pytest.importorskip("redis")

WORKSPACE = "shared-limit-tests"
KEY = "persons/thumbnails/a.png"
REPO = Path(__file__).parents[2]
#: The emulator's throttle and the connections' limit: 5 completions per 0.5 s.
CALLS, PERIOD = 5, 0.5


@pytest.fixture(autouse=True)
def fresh_limiters(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no limiter of this process's: as a new worker would."""
    monkeypatch.setattr(limiter, "_limiters", {})
    monkeypatch.setattr(redis_limiter, "_limiters", {})


def connection(emulator: MediaIntelligenceEmulator, **extra: object) -> str:
    conn = json.loads(emulator.connection_json())
    conn["extra"] = {"complete_calls_per_minute": CALLS, **extra}
    return json.dumps(conn)


def shared_keys(server: RedisServer) -> list[str]:
    return redis.Redis(port=server.port, decode_responses=True).keys("mi:rate-limit:*")


def test_the_sync_hook_takes_its_slots_from_redis(
    mi_emulator: MediaIntelligenceEmulator, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
):
    redis.Redis(port=redis_server.port).flushall()
    monkeypatch.setenv("AIRFLOW_CONN_MI_REDIS", redis_server.url)
    monkeypatch.setenv("AIRFLOW_CONN_MI_SHARED", connection(mi_emulator, rate_limit_redis_conn_id="mi_redis"))
    hook = MediaIntelligenceHook("mi_shared")
    try:
        assert hook.complete_person_thumbnail_upload(WORKSPACE, KEY).reason == "FILE_NOT_EXIST"
        assert hook.settings.redis is not None and hook.settings.redis.port == redis_server.port
    finally:
        hook.close()
    assert shared_keys(redis_server)


def test_the_async_hook_takes_its_slots_from_redis(
    mi_emulator: MediaIntelligenceEmulator, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
):
    redis.Redis(port=redis_server.port).flushall()
    monkeypatch.setenv("AIRFLOW_CONN_MI_REDIS", redis_server.url)
    monkeypatch.setenv("AIRFLOW_CONN_MI_SHARED", connection(mi_emulator, rate_limit_redis_conn_id="mi_redis"))

    async def complete() -> str | None:
        hook = MediaIntelligenceAsyncHook("mi_shared")
        try:
            return (await hook.complete_person_thumbnail_upload(WORKSPACE, KEY)).reason
        finally:
            await hook.close()

    assert asyncio.run(asyncio.wait_for(complete(), 30)) == "FILE_NOT_EXIST"
    assert shared_keys(redis_server)


def test_a_missing_redis_connection_is_named_before_any_request(
    mi_emulator: MediaIntelligenceEmulator, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(
        "AIRFLOW_CONN_MI_SHARED", connection(mi_emulator, rate_limit_redis_conn_id="no_such_redis")
    )
    hook = MediaIntelligenceHook("mi_shared")
    with pytest.raises(InvalidParameterError) as raised:
        hook.complete_person_thumbnail_upload(WORKSPACE, KEY)
    assert "Redis connection 'no_such_redis'" in str(raised.value)
    assert "'rate_limit_redis_conn_id'" in str(raised.value)
    assert "Create an Airflow connection of type Redis" in str(raised.value)
    assert mi_emulator.state.requests == []


def test_an_unknown_fallback_is_refused(
    mi_emulator: MediaIntelligenceEmulator, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("AIRFLOW_CONN_MI_SHARED", connection(mi_emulator, rate_limit_redis_fallback="ignore"))
    with pytest.raises(InvalidParameterError, match="'rate_limit_redis_fallback' is 'ignore'; use one of"):
        _ = MediaIntelligenceHook("mi_shared").settings


def test_the_redis_password_is_masked_and_never_shown(
    mi_emulator: MediaIntelligenceEmulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
):
    server = RedisServer(password="redis-pw-71c2").start()
    try:
        monkeypatch.setenv("AIRFLOW_CONN_MI_REDIS", server.url)
        monkeypatch.setenv(
            "AIRFLOW_CONN_MI_SHARED", connection(mi_emulator, rate_limit_redis_conn_id="mi_redis")
        )
        hook = MediaIntelligenceHook("mi_shared")
        with caplog.at_level(logging.DEBUG):
            hook.complete_person_thumbnail_upload(WORKSPACE, KEY)
            server.stop()  # now the fallback's warning names the server
            hook.complete_person_thumbnail_upload(WORKSPACE, KEY)
        hook.close()
        assert "Could not reach Redis connection 'mi_redis'" in caplog.text
        assert "redis-pw-71c2" not in caplog.text
        assert "redis-pw-71c2" not in repr(hook.settings)
    finally:
        server.close()


PROCESS = textwrap.dedent(
    """
    import sys, threading
    from airflow_provider_mi.core.rate_limit import COMPLETE_UPLOAD
    from airflow_provider_mi.core.settings import RATE_LIMIT_EXTRAS
    from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook

    RATE_LIMIT_EXTRAS[COMPLETE_UPLOAD] = ("complete_calls_per_minute", float(sys.argv[1]))
    hook, errors = MediaIntelligenceHook("mi_shared"), []
    def run():
        try:
            for _ in range(6):
                hook.complete_person_thumbnail_upload(sys.argv[2], "persons/thumbnails/a.png")
        except Exception as err:
            errors.append(err)
    threads = [threading.Thread(target=run) for _ in range(2)]
    [thread.start() for thread in threads]
    [thread.join() for thread in threads]
    sys.exit(repr(errors) if errors else 0)
    """
)


def run_processes(emulator: MediaIntelligenceEmulator, env: dict[str, str], count: int = 3) -> int:
    """Run ``count`` worker processes of 12 completions each; return the 429s the emulator answered."""
    before = emulator.state.stats()["throttled"]["complete"]
    command = [sys.executable, "-c", PROCESS, str(PERIOD), WORKSPACE]
    processes = [subprocess.Popen(command, cwd=REPO, env=env) for _ in range(count)]
    assert [process.wait(120) for process in processes] == [0] * count
    return emulator.state.stats()["throttled"]["complete"] - before


def test_processes_sharing_redis_keep_the_quota_together_where_alone_they_exceed_it(
    redis_server: RedisServer,
):
    with MediaIntelligenceEmulator(rate_limits={"complete": (CALLS, PERIOD)}) as emulator:
        env = {**os.environ, "AIRFLOW_CONN_MI_REDIS": redis_server.url}
        alone = run_processes(emulator, {**env, "AIRFLOW_CONN_MI_SHARED": connection(emulator)})
        shared = run_processes(
            emulator,
            {**env, "AIRFLOW_CONN_MI_SHARED": connection(emulator, rate_limit_redis_conn_id="mi_redis")},
        )
    assert alone > 0  # three processes at the limit each: three times the quota
    assert shared == 0


@pytest.mark.parametrize(
    ("fallback", "ok", "said"),
    [
        ("local", True, "each process keeps the rate limits on its own"),
        ("fail", False, "'rate_limit_redis_fallback' is 'fail': calls would fail"),
    ],
)
def test_the_connection_test_says_whether_the_shared_limits_redis_answers(
    mi_emulator: MediaIntelligenceEmulator,
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
    fallback: str,
    ok: bool,
    said: str,
):
    extra = {"rate_limit_redis_conn_id": "mi_redis", "rate_limit_redis_fallback": fallback}
    monkeypatch.setenv("AIRFLOW_CONN_MI_SHARED", connection(mi_emulator, **extra))
    monkeypatch.setenv("AIRFLOW_CONN_MI_REDIS", redis_server.url)
    assert MediaIntelligenceHook("mi_shared").test_connection() == (
        True,
        f"Credentials accepted by {mi_emulator.url}. Rate limits shared through Redis connection 'mi_redis' "
        f"(127.0.0.1:{redis_server.port}/0).",
    )
    monkeypatch.setenv("AIRFLOW_CONN_MI_REDIS", "redis://127.0.0.1:9/0")  # nothing listens there
    passed, message = MediaIntelligenceHook("mi_shared").test_connection()
    assert passed is ok
    assert "Redis connection 'mi_redis' (127.0.0.1:9/0) cannot be reached (ConnectionError" in message
    assert said in message
