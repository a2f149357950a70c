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


#: A client-side completion limit (calls per minute) far above what any figure sends: the limiter
#: gives every permit at once (its bookkeeping is still paid), so figures that measure the cost of
#: a call or a poll measure that, not waits under the API's 1000 per minute.
UNBINDING_CALLS_PER_MINUTE = 6_000_000


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
