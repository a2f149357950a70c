"""The limiter shared through a real Redis: one limit for many processes, in order, surviving failures."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

from airflow_provider_mi.core import redis_limiter as module
from airflow_provider_mi.core.limiter import SharedRateLimiter
from airflow_provider_mi.core.rate_limit import RateLimit
from airflow_provider_mi.core.redis_limiter import RedisRateLimiter, RedisTarget
from airflow_provider_mi.exceptions import InvalidParameterError, MediaIntelligenceRateLimiterError
from redis_server import RedisServer
from tests.core.test_limiter import most_in_any_period

redis = pytest.importorskip("redis")

LIMIT = RateLimit(4, 0.3)
REPO = Path(__file__).parents[2]


def make(
    server: RedisServer, limit: RateLimit = LIMIT, *, name: str | None = None, lease: float = 5.0, **kw: str
) -> RedisRateLimiter:
    """A limiter as one process has it; ``name`` shared means one quota."""
    target = RedisTarget(host="127.0.0.1", port=server.port, password=server.password, conn_id="redis_test")
    return RedisRateLimiter(
        name or uuid.uuid4().hex, limit, lease, target, kw.get("fallback", "local"), SharedRateLimiter(limit)
    )


def calls(limiter: RedisRateLimiter, times: int, starts: list[float], hold: float = 0.01) -> None:
    for _ in range(times):
        with limiter.slot():
            starts.append(time.monotonic())
            time.sleep(hold)


def test_limiters_of_separate_processes_share_one_limit(redis_server: RedisServer, tmp_path: Path):
    name = uuid.uuid4().hex
    script = textwrap.dedent(
        f"""
        import json, sys, threading, time
        from airflow_provider_mi.core.limiter import SharedRateLimiter
        from airflow_provider_mi.core.rate_limit import RateLimit
        from airflow_provider_mi.core.redis_limiter import RedisRateLimiter, RedisTarget
        limit = RateLimit({LIMIT.calls}, {LIMIT.period_seconds})
        target = RedisTarget("127.0.0.1", {redis_server.port})
        limiter = RedisRateLimiter({name!r}, limit, 5.0, target, "fail", SharedRateLimiter(limit))
        starts = []
        def run():
            for _ in range(3):
                with limiter.slot():
                    starts.append(time.monotonic())
                    time.sleep(0.02)
        threads = [threading.Thread(target=run) for _ in range(2)]
        [thread.start() for thread in threads]
        [thread.join() for thread in threads]
        print(json.dumps(starts))
        """
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=REPO, text=True)
        for _ in range(3)
    ]
    starts = [start for process in processes for start in json.loads(process.communicate(timeout=60)[0])]
    assert all(process.returncode == 0 for process in processes)
    assert len(starts) == 18
    # CLOCK_MONOTONIC is one clock for every process of the machine.
    assert most_in_any_period(starts, LIMIT.period_seconds) <= LIMIT.calls
    # ...and the limit is used, not merely kept: 18 calls at 4 per 0.3 s take 4 periods, not many more.
    assert max(starts) - min(starts) < 8 * LIMIT.period_seconds


def test_threads_and_coroutines_of_two_limiters_share_one_limit(redis_server: RedisServer):
    name = uuid.uuid4().hex
    first, second = make(redis_server, name=name), make(redis_server, name=name)
    starts: list[float] = []

    async def take_async(times: int) -> None:
        async def one() -> None:
            async with second.slot_async():
                starts.append(time.monotonic())
                await asyncio.sleep(0.01)

        await asyncio.gather(*(one() for _ in range(times)))

    threads = [threading.Thread(target=calls, args=(first, 4, starts)) for _ in range(2)]
    for thread in threads:
        thread.start()
    asyncio.run(take_async(8))
    for thread in threads:
        thread.join()
    assert len(starts) == 16
    assert most_in_any_period(starts, LIMIT.period_seconds) <= LIMIT.calls


def test_a_slot_is_free_again_one_period_after_the_answer(redis_server: RedisServer):
    limiter = make(redis_server, RateLimit(1, 0.2))
    with limiter.slot():
        time.sleep(0.3)  # a slow call: longer than the period
        answered = time.monotonic()
    with limiter.slot():
        assert time.monotonic() >= answered + 0.2 - 0.005  # Redis's clock and this one, read apart


def test_waiters_are_served_in_the_order_they_asked(redis_server: RedisServer):
    # One slot held by a slow call: everyone else queues in Redis, then is handed the slot in turn.
    name = uuid.uuid4().hex
    limiters = [make(redis_server, RateLimit(1, 0.02), name=name) for _ in range(3)]
    served: list[int] = []

    def wait(number: int) -> None:
        with limiters[number % 3].slot():
            served.append(number)

    with limiters[0].slot():
        threads = []
        for number in range(9):
            threads.append(threading.Thread(target=wait, args=(number,)))
            threads[-1].start()
            time.sleep(0.05)  # each has queued before the next asks
        time.sleep(0.1)
        assert served == []
    for thread in threads:
        thread.join()
    assert served == list(range(9))


def redis_commands(server: RedisServer) -> dict[str, int]:
    stats = redis.Redis(port=server.port).info("commandstats")
    return {name.removeprefix("cmdstat_"): stat["calls"] for name, stat in stats.items()}


def test_a_call_costs_a_bounded_number_of_round_trips(redis_server: RedisServer):
    name = uuid.uuid4().hex
    limiters = [make(redis_server, RateLimit(2, 0.1), name=name) for _ in range(2)]
    before = redis_commands(redis_server)
    threads = [threading.Thread(target=calls, args=(limiters[n % 2], 5, [], 0.05)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = redis_commands(redis_server)
    spent = {name: after.get(name, 0) - before.get(name, 0) for name in ("evalsha", "eval", "blpop")}
    # 20 calls, most of them queued: take, wait, give back; no polling.
    assert spent["blpop"] > 0
    assert spent["evalsha"] + spent["eval"] + spent["blpop"] <= 3 * 20 + 4  # + a script load each


def test_a_process_killed_holding_a_slot_loses_it_for_its_lease_only(
    redis_server: RedisServer, tmp_path: Path
):
    name, ready = uuid.uuid4().hex, tmp_path / "holding"
    script = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from airflow_provider_mi.core.limiter import SharedRateLimiter
        from airflow_provider_mi.core.rate_limit import RateLimit
        from airflow_provider_mi.core.redis_limiter import RedisRateLimiter, RedisTarget
        limit = RateLimit(1, 0.2)
        target = RedisTarget("127.0.0.1", {redis_server.port})
        limiter = RedisRateLimiter({name!r}, limit, 1.0, target, "fail", SharedRateLimiter(limit))
        with limiter.slot():
            Path({str(ready)!r}).touch()
            time.sleep(60)
        """
    )
    holder = subprocess.Popen([sys.executable, "-c", script], cwd=REPO)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ready.exists(), "the holder never took its slot"
        os.kill(holder.pid, signal.SIGKILL)
        killed = time.monotonic()
        with make(redis_server, RateLimit(1, 0.2), name=name, lease=1.0).slot():
            waited = time.monotonic() - killed
    finally:
        holder.kill()
        holder.wait()
    # Its lease (1 s from when it took the slot) and then a period, as if answered at the lease's end.
    assert 0.5 < waited < 10


def test_a_cancelled_waiter_leaves_the_queue_and_the_next_one_gets_the_slot(redis_server: RedisServer):
    name = uuid.uuid4().hex
    limiter = make(redis_server, RateLimit(1, 0.05), name=name)
    served: list[str] = []

    async def main() -> None:
        async def wait(label: str) -> None:
            async with limiter.slot_async():
                served.append(label)

        async with limiter.slot_async():
            cancelled = asyncio.create_task(wait("cancelled"))
            await asyncio.sleep(0.1)
            patient = asyncio.create_task(wait("patient"))
            await asyncio.sleep(0.1)
            cancelled.cancel()
            await asyncio.sleep(0.05)
        await asyncio.wait_for(patient, 10)

    asyncio.run(main())
    assert served == ["patient"]


def test_the_strictest_limit_declared_applies_and_is_warned(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
):
    name = uuid.uuid4().hex
    strict, lax = (
        make(redis_server, RateLimit(2, 0.3), name=name),
        make(redis_server, RateLimit(6, 0.3), name=name),
    )
    starts: list[float] = []
    calls(strict, 1, starts)
    with caplog.at_level(logging.WARNING, logger=module.__name__):
        calls(lax, 6, starts)
    assert most_in_any_period(starts, 0.3) <= 2
    assert "sets 2 calls per 0.3 s, stricter than this connection's 6 calls per 0.3 s" in caplog.text


def test_redis_down_falls_back_to_the_process_limit_warning_once_then_shares_again(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(module, "RETRY_REDIS_SECONDS", 0.2)
    server = RedisServer().start()
    try:
        limiter = make(server, RateLimit(2, 0.2))
        calls(limiter, 2, [])
        server.stop()
        starts: list[float] = []
        with caplog.at_level(logging.INFO, logger=module.__name__):
            calls(limiter, 6, starts)
            assert most_in_any_period(starts, 0.2) <= 2  # the process's own limiter, still a limit
            assert caplog.text.count("Could not reach Redis connection 'redis_test'") == 1
            assert "this process keeps the rate limit of 2 calls per 0.2 s on its own" in caplog.text
            server.start()  # empty: as after a crash without persistence
            time.sleep(0.25)
            calls(limiter, 1, [])
        assert "answers again: the rate limit is shared again" in caplog.text
        assert redis.Redis(port=server.port).keys("mi:rate-limit:*")  # back in Redis
    finally:
        server.close()


def test_redis_restarting_mid_run_fails_no_call(redis_server: RedisServer):
    server = RedisServer().start()
    try:
        limiter, starts, errors = make(server, RateLimit(3, 0.1)), [], []

        def run() -> None:
            try:
                calls(limiter, 15, starts, hold=0.02)
            except Exception as err:
                errors.append(err)

        threads = [threading.Thread(target=run) for _ in range(3)]
        for thread in threads:
            thread.start()
        time.sleep(0.3)
        server.restart()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len(starts) == 45
    finally:
        server.close()


def test_fail_mode_refuses_the_call_and_says_what_to_do():
    server = RedisServer().start()
    limiter = make(server, fallback="fail")
    server.close()
    with pytest.raises(MediaIntelligenceRateLimiterError) as raised, limiter.slot():
        pytest.fail("a call was let through without the shared limit")
    message = str(raised.value)
    assert "Could not reach Redis connection 'redis_test'" in message
    assert "'rate_limit_redis_fallback' extra is 'fail'" in message
    assert "set the extra to 'local'" in message


def test_keys_name_no_credential_and_expire(redis_server: RedisServer):
    access_key = "AKIA-NOT-IN-REDIS"
    target = RedisTarget(host="127.0.0.1", port=redis_server.port)
    limiter = module.redis_limiter(
        "complete_upload",
        LIMIT,
        base_url="http://127.0.0.1:1",
        access_key=access_key,
        lease_seconds=5.0,
        target=target,
        fallback="local",
        local=SharedRateLimiter(LIMIT),
    )
    calls(limiter, 1, [])
    client = redis.Redis(port=redis_server.port, decode_responses=True)
    keys = client.keys(f"{limiter._prefix}*")
    assert keys
    assert not any(access_key in key for key in keys)
    assert all(0 < client.ttl(key) <= 3600 + 6 for key in keys)


def test_a_password_protected_redis():
    server = RedisServer(password="s3cret-redis").start()
    try:
        limiter = make(server)
        calls(limiter, 2, [])
        assert "s3cret-redis" not in repr(limiter.target)
    finally:
        server.close()


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"host": None}, "has no host"),
        ({"extras": {"cluster": True}}, "cluster mode"),
        ({"extras": {"db": "two"}}, "extra 'db' 'two'"),
    ],
)
def test_a_redis_connection_that_cannot_serve_is_refused(fields: dict, problem: str):
    base = {"host": "redis", "port": None, "login": None, "password": None, "extras": {}, "conn_id": "r"}
    with pytest.raises(InvalidParameterError, match=problem):
        RedisTarget.from_connection_fields(**{**base, **fields})


def test_a_redis_connection_is_read_as_the_redis_provider_reads_it():
    target = RedisTarget.from_connection_fields(
        host="redis.internal",
        port=None,
        login="mi",
        password="none",
        extras={"db": "3", "ssl": True, "ssl_ca_certs": "/ca.pem", "other": 1},
        conn_id="redis_default",
    )
    assert (target.host, target.port, target.db, target.username, target.password) == (
        "redis.internal",
        6379,
        3,
        "mi",
        None,
    )
    assert target.client_options()["ssl"] is True
    assert target.client_options()["ssl_ca_certs"] == "/ca.pem"
    assert "other" not in target.client_options()
