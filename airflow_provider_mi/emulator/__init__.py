"""
A local emulator of the Media Intelligence API, for demos and DAG tests without an NCP account.

    from airflow_provider_mi.emulator import MediaIntelligenceEmulator

    with MediaIntelligenceEmulator() as emulator:
        os.environ.update(emulator.airflow_env())
        ...  # run DAGs; inspect emulator.state.requests

It verifies signature v2 as the API Gateway does (:mod:`.signature`), implements the person
thumbnail upload flow (presigned URL, PUT, complete), ``GET`` workspace and the person API
(:mod:`.person_routes`: persons, their thumbnails and tags, merge, compare and similar, kept by
:mod:`airflow_provider_mi.emulator.persons`), and judges uploads by decoding them with Pillow
(:mod:`.judge`, which documents its rules; the ``emulator`` extra installs Pillow). Compare and
similar score pictures with a perceptual hash (:mod:`.likeness`), a deterministic stand-in for face
matching; :mod:`.faces` draws made-up people for it. ``emulator.state.advance(seconds)`` moves the
API's clock on (thumbnail keys expire 24 hours after upload) and ``state.write_requests()`` proves
what a client did not write. Its rules (:mod:`.rules`) are its own, apart from the client's, so that
tests comparing the two can disagree. :mod:`.faults` scripts failures
(``emulator.state.inject("complete", faults.http_error(503))``). ``rate_limits`` throttles the
signed endpoints as the gateway does and ``latency_seconds`` delays every answer; its control routes
under ``/_emulator/`` (``stats``, ``complete-all``, ``thumbnails``, ``advance``) serve benchmarks
and tests in another process. ``python -m airflow_provider_mi.emulator`` (or ``mi-emulator``) runs
it from the command line; the pytest fixture ``mi_emulator`` starts one per test."""

from __future__ import annotations

from airflow_provider_mi.emulator.faces import face_image
from airflow_provider_mi.emulator.server import MediaIntelligenceEmulator
from airflow_provider_mi.emulator.state import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_SECRET_KEY,
    EmulatorState,
    Fault,
    RecordedRequest,
)

__all__ = [
    "DEFAULT_ACCESS_KEY",
    "DEFAULT_SECRET_KEY",
    "EmulatorState",
    "Fault",
    "MediaIntelligenceEmulator",
    "RecordedRequest",
    "face_image",
]
