"""
Figure 7, ``bulk_upload`` (pending phase 2): many generated images uploaded through the bulk
operator vs a loop of single uploads through the Hook, against a distant-looking API.

Planned harness: the emulator (another process) adding ``LATENCY_S`` to every request; ``IMAGES``
PNGs generated with ``benchmarks.clients.sensor_latency.png_bytes`` into a folder; time the bulk
operator's ``execute`` and a loop of ``MediaIntelligenceHook.upload_person_thumbnail``, interleaved;
count the 429s in the emulator's log. Ratio: bulk throughput / loop throughput; also the bulk
throughput as a fraction of the presigned-URL limit.
"""

from __future__ import annotations

from typing import Any

from benchmarks.figures.phase2 import pending

KEYS = ("bulk_upload",)
GOAL = "throughput ratio >= 5, 429s == 0; fraction of the presigned-URL limit reported"
IMAGES, LATENCY_S = 500, 0.05


def measure(smoke: bool = False) -> dict[str, dict[str, Any]]:
    """Not measured until the bulk upload operator exists."""
    return pending(
        "bulk_upload",
        what=f"{IMAGES} generated images, {LATENCY_S * 1000:g} ms of latency added to every request: "
        "the bulk operator vs a loop of single uploads through the Hook.",
        goal=GOAL,
        feature="the bulk upload operator",
        harness=__doc__.split("Planned harness: ", 1)[1].strip(),
    )
