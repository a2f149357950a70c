"""The client-side limits as data: the window each limit is enforced as."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_mi.core.rate_limit import DEFAULT_RATE_LIMITS, SAFETY_MARGIN, RateLimit


@pytest.mark.parametrize(
    ("limit", "window"),
    [
        (RateLimit(1000, 60), (100, 6120)),
        (RateLimit(50, 1), (5, 102)),
        (RateLimit(21, 60), (2, 6120)),
        (RateLimit(5, 60), (1, 12240)),
        (RateLimit(1, 1), (1, 1020)),
    ],
)
def test_client_window(limit, window):
    assert limit.client_window() == window


def test_describe():
    assert DEFAULT_RATE_LIMITS["complete_upload"].describe() == "1000 calls per 60 s"


@given(calls=st.integers(1, 100_000), period=st.floats(0.01, 3600))
def test_no_period_can_hold_more_than_the_limit(calls, period):
    window_calls, window_ms = RateLimit(calls, period).client_window()
    # A period of the API is covered by ceil(period / window) windows, each holding window_calls.
    assert math.ceil(period * 1000 / window_ms) * window_calls <= calls
    # Bursts are a tenth of the limit at most (or a single call).
    assert window_calls <= max(1, calls // 10)


@given(calls=st.integers(10, 100_000), period=st.floats(1, 3600))  # the extras: 1 s and 60 s
def test_the_rate_stays_close_to_the_limit(calls, period):
    window_calls, window_ms = RateLimit(calls, period).client_window()
    rate = window_calls / window_ms * period * 1000
    # Rounding down to whole windows loses less than one window's calls, milliseconds 0.1 %.
    assert rate >= (calls - window_calls) / (1 + SAFETY_MARGIN) * 0.999
