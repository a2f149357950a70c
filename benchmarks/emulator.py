"""
The emulator as a rate-limited API for the figures: starting it, its control routes, sampling them.

The emulator (``python -m airflow_provider_mi.emulator``) runs in its own process; its gateway
keeps a strict sliding-window log per endpoint and answers 429 beyond the limit. Its control
routes (``/_emulator/...``: no signature, no throttle, not logged) store thumbnails, flip them to
``COMPLETED`` and count what the gateway admitted and throttled. No Airflow is imported here.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from benchmarks.processes import server

#: The emulator's name of the completion endpoint (the client's limiter calls it ``complete_upload``).
COMPLETE = "complete"


@dataclass(frozen=True)
class Emulator:
    """A running emulator: its base URL and the Airflow connection (JSON) that points at it."""

    url: str
    connection: dict[str, Any]

    def connection_json(self, **extra: Any) -> str:
        """The connection as ``AIRFLOW_CONN_...`` JSON, with ``extra`` added to its extras."""
        conn = dict(self.connection)
        conn["extra"] = {**conn.get("extra", {}), **extra}
        return json.dumps(conn)


@contextmanager
def emulator(rate_limits: Sequence[str] = (), latency: float = 0.0) -> Iterator[Emulator]:
    """
    Run the emulator in another process until the block ends.

    :param rate_limits: ``--rate-limit`` specs, e.g. ``complete=1000/6``.
    :param latency: seconds added to every API answer.
    """
    args = ["-m", "airflow_provider_mi.emulator", "--port", "0", "--latency", str(latency)]
    for spec in rate_limits:
        args += ["--rate-limit", spec]
    with server(args, ready=r"export AIRFLOW_CONN_NCP_MI_DEFAULT='(.*)'") as running:
        connection = json.loads(running.match.group(1))
        yield Emulator(url=connection["host"], connection=connection)


def control(url: str, route: str, body: dict[str, Any] | None = None, timeout: float = 30.0) -> Any:
    """``GET`` (no body) or ``POST`` (JSON body) one of the emulator's ``/_emulator/`` routes."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{url}/_emulator/{route}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)


def stats(url: str) -> dict[str, Any]:
    """``{"admitted": {endpoint: n}, "throttled": {endpoint: n}, "requests": n}``."""
    result: dict[str, Any] = control(url, "stats")
    return result


def store_thumbnails(url: str, workspace: str, keys: Sequence[str], *, visible: bool) -> None:
    """Store a valid thumbnail under each key (hidden from completion unless ``visible``)."""
    answer = control(url, "thumbnails", {"workspace": workspace, "keys": list(keys), "visible": visible})
    if answer.get("stored") != len(keys):
        raise RuntimeError(f"the emulator stored {answer!r} of {len(keys)} thumbnails")


@dataclass
class StatsSampler:
    """
    Sample the emulator's admitted and throttled completion counts in a thread, every ``period``.

    ``samples`` holds ``(time.monotonic(), admitted, throttled)``: the clock is the machine's
    monotonic clock, the same in every process, so the clients' times compare with it.
    """

    url: str
    period: float = 0.05
    samples: list[tuple[float, int, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _sample(self) -> None:
        counts = stats(self.url)
        self.samples.append((time.monotonic(), counts["admitted"][COMPLETE], counts["throttled"][COMPLETE]))

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            self._sample()

    def __enter__(self) -> StatsSampler:
        self._sample()
        self._thread = threading.Thread(target=self._run, name="emulator-stats", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()

    def throttled_times(self, since: float) -> list[float]:
        """When (seconds after ``since``) the throttled count grew, once per 429 (to the sampling period)."""
        times: list[float] = []
        for (_, _, before), (at, _, after) in zip(self.samples, self.samples[1:], strict=False):
            times += [round(at - since, 2)] * (after - before)
        return times

    def admitted_series(self, since: float, step: float) -> list[int]:
        """The completions admitted in each ``step`` seconds after ``since`` (from the samples)."""
        counts: list[int] = []
        for (_, before, _), (at, after, _) in zip(self.samples, self.samples[1:], strict=False):
            slot = int((at - since) // step)
            if slot < 0:
                continue
            counts += [0] * (slot + 1 - len(counts))
            counts[slot] += after - before
        return counts
