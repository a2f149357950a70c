"""The retry policy, driven through the pipeline's retry loop (sync and async) with a fake clock."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_mi.core import pipeline
from airflow_provider_mi.core.pipeline import Answer, Exchange, retrying
from airflow_provider_mi.core.retry import RetryPolicy, is_retryable
from airflow_provider_mi.exceptions import (
    InvalidParameterError,
    MediaIntelligenceApiError,
    MediaIntelligenceAuthenticationError,
    MediaIntelligenceConnectionError,
    MediaIntelligenceResponseError,
)

LOGGER = logging.getLogger("tests.core.test_retry")


class FakeClock:
    """Stands in for the pipeline's ``time.monotonic`` and its sleeps: time passes only by sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """A fake clock that the budget also measures with."""
    fake = FakeClock()
    monkeypatch.setattr(pipeline, "time", SimpleNamespace(monotonic=fake.monotonic, sleep=fake.sleep))
    monkeypatch.setattr(pipeline, "asyncio", SimpleNamespace(sleep=fake.async_sleep))
    return fake


class Script:
    """A callable that raises (or returns) the scripted outcomes in order, counting its calls."""

    def __init__(self, *outcomes: object) -> None:
        self.outcomes = list(outcomes)
        self.calls = 0

    def __call__(self) -> object:
        outcome = self.outcomes[self.calls]
        self.calls += 1
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


EXCHANGE = Exchange("POST", "http://127.0.0.1/api", None, "POST /api")


def steps(policy: RetryPolicy, script: Script, queued: float = 0.0) -> pipeline.Steps[object]:
    """The retry loop over ``script``: each attempt is one exchange whose answer ``script`` reads."""
    return retrying(lambda failures: EXCHANGE, lambda answer, failures: script(), policy, LOGGER)


def answer(clock: FakeClock, queued: float = 0.0) -> Answer:
    """An answer that waited ``queued`` seconds for a turn under the rate limit (on the clock)."""
    clock.now += queued
    return Answer(200, {}, b"", waited=queued)


def run_sync(policy: RetryPolicy, script: Script, clock: FakeClock, queued: float = 0.0) -> object:
    return pipeline.run(steps(policy, script), lambda exchange: answer(clock, queued))


def run_async(policy: RetryPolicy, script: Script, clock: FakeClock, queued: float = 0.0) -> object:
    async def send(exchange: Exchange) -> Answer:
        await asyncio.sleep(0)
        return answer(clock, queued)

    return asyncio.run(pipeline.run_async(steps(policy, script), send))


runners = pytest.mark.parametrize("run", [run_sync, run_async], ids=["sync", "async"])


def unavailable(retry_after: float | None = None) -> MediaIntelligenceApiError:
    return MediaIntelligenceApiError(503, "500", "Endpoint Error", retry_after=retry_after)


@runners
def test_succeeds_after_transient_failures(run, clock):
    script = Script(
        unavailable(),
        MediaIntelligenceConnectionError("connection reset"),
        MediaIntelligenceResponseError("empty body", retryable=True),
        "ok",
    )
    assert run(RetryPolicy(), script, clock) == "ok"
    assert script.calls == 4
    assert len(clock.sleeps) == 3


@runners
def test_stops_after_max_attempts_and_reraises_the_last_error(run, clock):
    errors = [unavailable() for _ in range(5)]
    script = Script(*errors)
    with pytest.raises(MediaIntelligenceApiError) as info:
        run(RetryPolicy(max_attempts=3), script, clock)
    assert info.value is errors[2]
    assert script.calls == 3
    assert len(clock.sleeps) == 2


@runners
def test_stops_when_the_next_wait_would_exceed_the_budget(run, clock):
    script = Script(*(unavailable(retry_after=4) for _ in range(10)))
    with pytest.raises(MediaIntelligenceApiError):
        run(RetryPolicy(max_attempts=10, budget_seconds=10), script, clock)
    # t=0 fail, wait 4; t=4 fail, wait 4; t=8 fail: 8 + 4 >= 10, stop
    assert clock.sleeps == [4, 4]
    assert script.calls == 3


@runners
def test_a_single_wait_longer_than_the_budget_stops_at_once(run, clock):
    script = Script(unavailable(retry_after=20), "never reached")
    with pytest.raises(MediaIntelligenceApiError):
        run(RetryPolicy(budget_seconds=5), script, clock)
    assert script.calls == 1
    assert clock.sleeps == []


@runners
def test_honours_retry_after_capped_at_max_retry_after(run, clock):
    script = Script(
        unavailable(retry_after=2), unavailable(retry_after=0), unavailable(retry_after=3600), "ok"
    )
    policy = RetryPolicy(max_retry_after=7, budget_seconds=1000)
    assert run(policy, script, clock) == "ok"
    assert clock.sleeps == [2.0, 0.0, 7.0]


@runners
def test_retry_after_on_a_429(run, clock):
    throttled = MediaIntelligenceApiError(429, "420", "Rate Limited", retry_after=1.5)
    script = Script(throttled, "ok")
    assert run(RetryPolicy(), script, clock) == "ok"
    assert clock.sleeps == [1.5]


@runners
def test_backoff_waits_stay_within_the_jitter_window(run, clock):
    policy = RetryPolicy(max_attempts=12, budget_seconds=10_000, initial_delay=0.5, max_delay=2.0)
    script = Script(*(MediaIntelligenceConnectionError("refused") for _ in range(11)), "ok")
    assert run(policy, script, clock) == "ok"
    assert len(clock.sleeps) == 11
    for attempt, wait in enumerate(clock.sleeps, start=1):
        assert 0.0 <= wait <= min(policy.max_delay, policy.initial_delay * 2 ** (attempt - 1))


@settings(max_examples=50, deadline=None)
@given(
    initial_delay=st.floats(min_value=0.001, max_value=5),
    max_delay=st.floats(min_value=0.001, max_value=20),
    attempts=st.integers(min_value=2, max_value=15),
)
def test_backoff_never_exceeds_max_delay(initial_delay, max_delay, attempts):
    clock = FakeClock()  # hypothesis runs many examples per test: each gets its own clock
    policy = RetryPolicy(
        max_attempts=attempts, budget_seconds=1e9, initial_delay=initial_delay, max_delay=max_delay
    )
    script = Script(*(unavailable() for _ in range(attempts)))
    fake_time = SimpleNamespace(monotonic=clock.monotonic, sleep=clock.sleep)
    with mock.patch.object(pipeline, "time", fake_time), pytest.raises(MediaIntelligenceApiError):
        run_sync(policy, script, clock)
    assert len(clock.sleeps) == attempts - 1
    assert all(0.0 <= wait <= max_delay for wait in clock.sleeps)


@runners
@pytest.mark.parametrize(
    "error",
    [
        InvalidParameterError("workspace_name 'X' is not valid"),
        MediaIntelligenceApiError(400, "10001", "Invalid Request."),
        MediaIntelligenceApiError(404, "300", "Not Found Exception"),
        MediaIntelligenceAuthenticationError(401, "200", "Authentication Failed"),
        MediaIntelligenceResponseError("no 'result' object", retryable=False),
        RuntimeError("a bug, not a transient failure"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_does_not_retry_non_retryable_errors(run, clock, error):
    script = Script(error, "never reached")
    with pytest.raises(type(error)) as info:
        run(RetryPolicy(), script, clock)
    assert info.value is error
    assert script.calls == 1
    assert clock.sleeps == []


@runners
def test_logs_one_warning_per_retry(run, clock, caplog):
    script = Script(unavailable(retry_after=2), unavailable(retry_after=3), "ok")
    with caplog.at_level(logging.DEBUG, logger=LOGGER.name):
        assert run(RetryPolicy(max_attempts=4), script, clock) == "ok"
    records = [record for record in caplog.records if record.name == LOGGER.name]
    assert [record.levelno for record in records] == [logging.WARNING, logging.WARNING]
    messages = [record.getMessage() for record in records]
    assert messages[0].startswith("Attempt 1 of 4 failed: Media Intelligence API answered HTTP 503")
    assert messages[0].endswith("Retrying in 2.00 s.")
    assert messages[1].startswith("Attempt 2 of 4 failed")
    assert messages[1].endswith("Retrying in 3.00 s.")


@runners
def test_no_warning_when_giving_up(run, clock, caplog):
    script = Script(InvalidParameterError("bad"))
    with caplog.at_level(logging.DEBUG, logger=LOGGER.name), pytest.raises(InvalidParameterError):
        run(RetryPolicy(), script, clock)
    assert [record for record in caplog.records if record.name == LOGGER.name] == []


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (MediaIntelligenceApiError(429), True),
        (MediaIntelligenceApiError(500), True),
        (MediaIntelligenceApiError(599), True),
        (MediaIntelligenceApiError(499), False),
        (MediaIntelligenceConnectionError("timeout"), True),
        (MediaIntelligenceResponseError("x", retryable=True), True),
        (MediaIntelligenceResponseError("x", retryable=False), False),
        (InvalidParameterError("x"), False),
        (ConnectionError("not ours"), False),
    ],
)
def test_is_retryable(error, expected):
    assert is_retryable(error) is expected


@runners
def test_waits_for_a_rate_limit_slot_are_left_out_of_the_budget(run, clock):
    # Each attempt first waits 4 s for its turn under the client-side limit, then fails; 19 s in
    # all, 16 of them queueing: every attempt is made (were the queueing counted, one only).
    script = Script(*(unavailable(retry_after=1) for _ in range(4)))
    with pytest.raises(MediaIntelligenceApiError):
        run(RetryPolicy(max_attempts=4, budget_seconds=5), script, clock, queued=4)
    assert script.calls == 4
    assert clock.sleeps == [1, 1, 1]
