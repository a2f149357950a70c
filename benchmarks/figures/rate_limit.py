"""
Figure 3, ``rate_limit`` (pending phase 2): a burst of completions from many threads and many
triggers against an emulator enforcing a time-scaled limit, with the shared rate limiter.

Planned harness: the emulator in another process enforcing the documented 1000 completions per
minute scaled down in time (e.g. 1000 per 6 s, same algorithm as production); one client process
runs ``THREADS`` threads of ``MediaIntelligenceHook.complete_person_thumbnail_upload`` and
``TRIGGERS`` triggers at once for ``CALLS`` calls; the emulator's request log gives the 429s and the
completed calls per second. Ratio: achieved rate / limit.
"""

from __future__ import annotations

from typing import Any

from benchmarks.figures.phase2 import pending

KEYS = ("rate_limit",)
GOAL = "429s == 0 and achieved rate / limit >= 0.95"
THREADS, TRIGGERS, CALLS = 16, 200, 3000


def measure(smoke: bool = False) -> dict[str, dict[str, Any]]:
    """Not measured until the shared rate limiter exists."""
    return pending(
        "rate_limit",
        what="A burst of completions from many threads and many triggers against an emulator enforcing "
        "a time-scaled limit: 429s received and throughput as a fraction of the limit.",
        goal=GOAL,
        feature="the shared client-side rate limiter",
        harness=__doc__.split("Planned harness: ", 1)[1].strip(),
    )
