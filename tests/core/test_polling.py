"""The wait's rules shared by the sensor and the trigger: the error streak and the poll interval."""

from __future__ import annotations

import pytest

from airflow_provider_mi.core.polling import DEFAULT_MAX_CONSECUTIVE_ERRORS, ErrorStreak, next_interval
from airflow_provider_mi.core.validation import validate_max_consecutive_errors
from airflow_provider_mi.exceptions import (
    InvalidParameterError,
    MediaIntelligenceConnectionError,
    MediaIntelligenceGaveUpError,
)

ERROR = MediaIntelligenceConnectionError("GET / to http://127.0.0.1:1 could not connect. Check the host.")


def test_the_streak_gives_up_at_its_limit_with_the_last_error():
    streak = ErrorStreak(3)
    assert [streak.failed(ERROR), streak.failed(ERROR)] == [None, None]
    gave_up = streak.failed(ERROR)
    assert isinstance(gave_up, MediaIntelligenceGaveUpError)
    assert not gave_up.retryable
    assert str(gave_up).startswith("Gave up after 3 checks in a row failed (max_consecutive_errors=3).")
    assert "could not connect. Check the host." in str(gave_up)
    assert "set it to None to wait until the timeout" in str(gave_up)


def test_an_answer_ends_the_streak():
    streak = ErrorStreak(2)
    assert streak.failed(ERROR) is None
    streak.succeeded()
    assert streak.failed(ERROR) is None
    assert streak.failed(ERROR) is not None


def test_no_limit_never_gives_up():
    streak = ErrorStreak(None)
    assert all(streak.failed(ERROR) is None for _ in range(1000))


def test_the_default_is_ten():
    assert ErrorStreak().limit == DEFAULT_MAX_CONSECUTIVE_ERRORS == 10


@pytest.mark.parametrize("value", [0, -1, 2.5, "10", True])
def test_max_consecutive_errors_is_validated(value):
    with pytest.raises(
        InvalidParameterError, match="max_consecutive_errors must be a whole number of 1 or more"
    ):
        validate_max_consecutive_errors(value)


@pytest.mark.parametrize("value", [None, 1, 10])
def test_max_consecutive_errors_accepts_none_and_counts(value):
    assert validate_max_consecutive_errors(value) == value


def test_without_backoff_the_interval_is_the_poke_interval():
    assert [next_interval(7.5, count) for count in range(1, 6)] == [7.5] * 5


def test_backoff_doubles_with_jitter_as_airflows_sensors_do():
    intervals = [next_interval(60, count, exponential_backoff=True, seed="k") for count in range(1, 7)]
    for count, interval in enumerate(intervals, start=1):
        low = max(int(60 * 2 ** (count - 2)), 1)
        assert low <= interval < 2 * low
    assert intervals == [next_interval(60, c, exponential_backoff=True, seed="k") for c in range(1, 7)]


def test_max_wait_caps_the_interval():
    assert next_interval(60, 10, exponential_backoff=True, max_wait=300) == 300
    assert next_interval(60, 1, max_wait=30) == 30
