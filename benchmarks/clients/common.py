"""Set-up shared by the measured clients: arguments, Airflow's logging, memory, results."""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
from pathlib import Path
from typing import Any

#: The workspace every client names (the servers accept any).
WORKSPACE = "bench-workspace"


def parser(description: str | None) -> argparse.ArgumentParser:
    """An argument parser with the ``--out`` every client takes."""
    result = argparse.ArgumentParser(description=description)
    result.add_argument("--out", type=Path, required=True, help="where to write the JSON result")
    return result


def write_result(path: Path, result: dict[str, Any]) -> None:
    """Write the client's measurements."""
    path.write_text(json.dumps(result, indent=2))


def configure_airflow_logging(log_path: Path) -> None:
    """
    Log as Airflow 3 does in a task or trigger runner process; the lines end up in ``log_path``.

    The Task SDK's supervisor gives those processes an unbuffered binary socket and configures
    structlog to write JSON lines to it (``sending_to_supervisor=True``), which the supervisor
    reads. Here a ``cat`` child process plays the supervisor, draining the socket into the file, so
    the measured process pays what it pays under Airflow: one socket write per line. With Airflow 2
    (no Task SDK), the logging ``import airflow`` set up is kept.
    """
    try:
        from airflow.sdk.log import configure_logging, reset_logging
    except ImportError:
        return
    ours, theirs = socket.socketpair()
    with open(log_path, "wb") as sink:
        subprocess.Popen(["cat"], stdin=theirs.fileno(), stdout=sink)  # ends at the socket's EOF
    theirs.close()
    channel = os.fdopen(ours.detach(), "wb", buffering=0)
    reset_logging()
    configure_logging(json_output=True, output=channel, sending_to_supervisor=True)


def silence(obj: Any) -> None:
    """Give an Airflow ``LoggingMixin`` object a logger that drops everything below WARNING."""
    import structlog

    obj._log = structlog.wrap_logger(
        structlog.PrintLogger(open(os.devnull, "w")),  # noqa: SIM115 - open for the process's life
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
    )


def rss_bytes() -> int:
    """This process's resident set size."""
    import psutil

    return int(psutil.Process().memory_info().rss)


#: A client-side completion limit far above what figures 1 and 2 send, so their limiter never
#: waits (its bookkeeping is still paid). The limiter keeps N slots, each held from a call's permit
#: until one period (60 s here, not time-scaled) after its answer, so it waits only once more than
#: N calls were made within 60 s plus a call's time. No process of those figures makes that many in
#: all: signed_call's makes 2 x (30 + 12 x 300) = 7260 hook calls, each trigger process of
#: ``triggers`` about 1000 x (2 + 2 + 10 s) / 2 s = 7000 polls. N is a list of N floats in memory,
#: so it is not set absurdly high either.
UNBINDING_CALLS_PER_MINUTE = 50_000


def count_completions_per(seconds: float) -> None:
    """
    Make the completion limit's extra count calls per ``seconds`` instead of per minute.

    The rate-limit figures run time faster than production (the emulator allows 1000 completions
    per 6 s); the client must then count its calls over the same period. This patches the
    provider's public table ``settings.RATE_LIMIT_EXTRAS`` in this process; call it before any hook
    reads its connection.
    """
    from airflow_provider_mi.core.rate_limit import COMPLETE_UPLOAD

    count_calls_per(COMPLETE_UPLOAD, seconds)


def count_calls_per(endpoint: str, seconds: float) -> None:
    """
    Make the rate-limit extra of ``endpoint`` (``complete_upload``, ``presigned_url``) count calls
    per ``seconds`` instead of its own period, as :func:`count_completions_per` does for completions.
    """
    from airflow_provider_mi.core import settings

    extra, _ = settings.RATE_LIMIT_EXTRAS[endpoint]
    settings.RATE_LIMIT_EXTRAS[endpoint] = (extra, seconds)


def mi_connection_json(url: str) -> str:
    """
    An ``ncp_media_intelligence`` connection to the server at ``url`` (any key is accepted there).

    Its completion limit is :data:`UNBINDING_CALLS_PER_MINUTE`, for the minimal server (no limit).
    """
    return json.dumps(
        {
            "conn_type": "ncp_media_intelligence",
            "host": url,
            "login": "bench-access-key",
            "password": "bench-secret-key",
            "extra": {"complete_calls_per_minute": UNBINDING_CALLS_PER_MINUTE},
        }
    )
