"""
Time from a key turning COMPLETED on the emulator until MediaIntelligencePersonThumbnailUploadSensor returns.

Per trial: issue a presigned URL (the key), start the sensor in a thread, wait a random fraction
of the poke interval so the flip falls anywhere between two pokes, then PUT the image (the
emulator runs with no visibility delay, so the PUT is the flip) and time until the sensor returns.
Poke mode runs ``sensor.execute(context)`` as the task runner does (the base sensor's poke loop);
deferrable mode runs ``execute`` until it defers, the trigger's ``run()`` in an asyncio loop to its
event, then the resume method with the event, as the triggerer and the worker do.
"""

from __future__ import annotations

import asyncio
import random
import struct
import threading
import time
import zlib
from pathlib import Path
from typing import Any

from benchmarks.clients.common import WORKSPACE, configure_airflow_logging, parser, write_result
from benchmarks.stats import rotated

MODES = ("poke", "deferrable")


def png_bytes(width: int = 320, height: int = 320) -> bytes:
    """A valid grey PNG, big enough for the API's 256 px minimum."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\x80" * width for _ in range(height)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def run_poke(sensor: Any) -> Any:
    """Drive the sensor in poke mode, as the task runner does: ``execute`` until it returns."""
    return sensor.execute(context={})


async def _first_event(trigger: Any) -> Any:
    async for event in trigger.run():
        return event
    raise RuntimeError("the trigger ended without an event")


def run_deferrable(sensor: Any) -> Any:
    """Drive a deferrable sensor: ``execute`` defers, the trigger runs, the resume method returns."""
    from airflow.providers.common.compat.sdk import TaskDeferred

    try:
        return sensor.execute(context={})
    except TaskDeferred as deferral:
        event = asyncio.run(_first_event(deferral.trigger))
        return getattr(sensor, deferral.method_name)(context={}, event=event.payload)


def trial(hook: Any, image: bytes, mode: str, interval: float, phase: float, name: str) -> dict[str, Any]:
    """One flip and its latency, in seconds, for one mode."""
    from airflow_provider_mi.sensors.person_thumbnail import MediaIntelligencePersonThumbnailUploadSensor

    presigned = hook.create_presigned_upload(WORKSPACE, f"{name}.png")
    sensor = MediaIntelligencePersonThumbnailUploadSensor(
        task_id=name,
        thumbnail_key=presigned.thumbnail_key,
        workspace_name=WORKSPACE,
        poke_interval=interval,
        timeout=60,
        mode="poke",
        deferrable=mode == "deferrable",
    )
    outcome: dict[str, Any] = {}

    def drive() -> None:
        try:
            outcome["value"] = (run_poke if mode == "poke" else run_deferrable)(sensor)
        except BaseException as err:
            outcome["error"] = repr(err)
        outcome["returned_at"] = time.time()

    thread = threading.Thread(target=drive, name=f"sensor-{name}")
    thread.start()
    time.sleep(phase)
    flip_started = time.time()
    hook.put_thumbnail(presigned, image)
    flip_done = time.time()
    thread.join(timeout=60)
    if "error" in outcome or "returned_at" not in outcome:
        raise RuntimeError(f"{mode} sensor did not return: {outcome.get('error', 'timed out')}")
    if outcome["value"] != {"uploadStatus": "COMPLETED", "uploadMessage": None}:
        raise RuntimeError(f"{mode} sensor returned {outcome['value']!r}")
    return {
        "latency_s": outcome["returned_at"] - flip_started,
        "latency_lower_bound_s": outcome["returned_at"] - flip_done,
        "phase_s": phase,
    }


def main() -> None:
    args = parser(__doc__)
    args.add_argument("--interval", type=float, default=1.0)
    args.add_argument("--trials", type=int, default=10, help="per mode")
    args.add_argument("--seed", type=int, default=5)
    options = args.parse_args()
    configure_airflow_logging(Path(options.out).with_suffix(".airflow.log"))
    from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook

    hook, image, rng = MediaIntelligenceHook(), png_bytes(), random.Random(options.seed)
    trials: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    for number in range(options.trials):
        for mode in rotated(list(MODES), number):
            phase = rng.uniform(0.25, 1.25) * options.interval
            trials[mode].append(trial(hook, image, mode, options.interval, phase, f"{mode}-{number}"))
    write_result(options.out, {"interval_s": options.interval, "trials": trials})


if __name__ == "__main__":
    main()
