"""The client-side limits as data."""

from __future__ import annotations

from airflow_provider_mi.core.rate_limit import RateLimit


def test_describe():
    assert RateLimit(1000, 60.0).describe() == "1000 calls per 60 s"
