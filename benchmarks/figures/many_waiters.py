"""
Figure 4, ``many_waiters`` (pending phase 2): 5000 deferred triggers in one loop against an
emulator enforcing a time-scaled 1000/min limit, every key turning COMPLETED at one moment.

Planned harness: the trigger runner of ``benchmarks.clients.triggers`` with ``TRIGGERS``
``PersonThumbnailUploadTrigger``s against the emulator (another process, limit scaled in time), every
key stored with ``store_thumbnail(..., delay=T)``; measure the 429s, the triggers that fired, the time
from T until the last event against TRIGGERS / limit (the theoretical minimum), and the RSS growth
per waiting trigger.
"""

from __future__ import annotations

from typing import Any

from benchmarks.figures.phase2 import pending

KEYS = ("many_waiters",)
GOAL = "429s == 0, all fired, drain time / minimum <= 1.1; memory per trigger reported"
TRIGGERS = 5000


def measure(smoke: bool = False) -> dict[str, dict[str, Any]]:
    """Not measured until the triggerer shares one client (and limiter) per connection."""
    return pending(
        "many_waiters",
        what=f"{TRIGGERS} deferred triggers in one loop against an emulator enforcing a time-scaled "
        "1000/min limit, every key turning COMPLETED at one moment.",
        goal=GOAL,
        feature="the shared per-connection client and rate limiter in the triggerer",
        harness=__doc__.split("Planned harness: ", 1)[1].strip(),
    )
