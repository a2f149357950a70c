"""Command line: ``python -m airflow_provider_mi.emulator [--port N] [--fault F] ...`` (see ``--help``)."""

from __future__ import annotations

import argparse
import contextlib
import math
import signal
import threading

from airflow_provider_mi.emulator import faults
from airflow_provider_mi.emulator.judge import require_pillow
from airflow_provider_mi.emulator.server import MediaIntelligenceEmulator
from airflow_provider_mi.emulator.state import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, parse_rate_limit


def _rate_limit(spec: str) -> tuple[str, tuple[int, float]]:
    """
    Read one ``--rate-limit ENDPOINT=CALLS/SECONDS`` for argparse (which then names the problem).

    :param spec: e.g. ``complete=1000/60``.
    """
    try:
        return parse_rate_limit(spec)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def main(argv: list[str] | None = None) -> None:
    """Start the emulator on 127.0.0.1 and serve until interrupted."""
    kinds = "\n".join(f"  {name:<17} {help_text}" for name, (_, help_text) in faults.CATALOGUE.items())
    parser = argparse.ArgumentParser(
        prog="mi-emulator",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"fault kinds (KIND[=ARG]):\n  400-599[=S]       that HTTP status (Retry-After: S)\n{kinds}",
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--access-key", default=DEFAULT_ACCESS_KEY)
    parser.add_argument("--secret-key", default=DEFAULT_SECRET_KEY)
    parser.add_argument(
        "--workspace", action="append", help="a workspace that exists (repeat; default: any valid name)"
    )
    parser.add_argument(
        "--visibility-delay", type=float, default=0.0, help="seconds before an upload becomes visible"
    )
    parser.add_argument(
        "--rate-limit",
        action="append",
        default=[],
        type=_rate_limit,
        metavar="ENDPOINT=CALLS/SECONDS",
        help="throttle ENDPOINT (an API endpoint: presigned-url, complete, create-person, compare...) "
        "to CALLS per SECONDS as the gateway does, answering 429 beyond, e.g. complete=1000/60 (repeat)",
    )
    parser.add_argument(
        "--latency", type=float, default=0.0, metavar="SECONDS", help="answer every request this much later"
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="ENDPOINT:KIND[=ARG][:TIMES]",
        help="answer the next TIMES requests to ENDPOINT with a fault, e.g. complete:503:2 (repeat)",
    )
    parser.add_argument(
        "--faults", metavar="FILE", help='a JSON list of {"endpoint", "fault", "times", "thumbnail_key"}'
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port < 65536:
        parser.error(f"--port {args.port} is out of range 0-65535")
    if args.visibility_delay < 0:
        parser.error("--visibility-delay must not be negative")
    if not 0 <= args.latency < math.inf:
        parser.error(f"--latency must be a non-negative number of seconds, got {args.latency}")
    rate_limits: dict[str, tuple[int, float]] = {}
    for endpoint, limit in args.rate_limit:
        if endpoint in rate_limits:
            parser.error(f"--rate-limit is given twice for {endpoint}")
        rate_limits[endpoint] = limit
    try:
        scripts = [faults.parse_option(spec) for spec in args.fault]
        scripts += faults.load_script(args.faults) if args.faults else []
    except (OSError, ValueError) as err:
        parser.error(str(err))

    try:
        require_pillow()
    except ModuleNotFoundError as err:
        parser.exit(1, f"{parser.prog}: {err}\n")

    emulator = MediaIntelligenceEmulator(
        port=args.port,
        credentials={args.access_key: args.secret_key},
        workspaces=set(args.workspace) if args.workspace else None,
        visibility_delay=args.visibility_delay,
        rate_limits=rate_limits,
        latency_seconds=args.latency,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    for script in scripts:
        emulator.state.inject(script.endpoint, *script.faults, thumbnail_key=script.thumbnail_key)
    with emulator:
        print(f"Media Intelligence emulator listening on {emulator.url}", flush=True)
        print(f"export AIRFLOW_CONN_NCP_MI_DEFAULT='{emulator.connection_json()}'", flush=True)
        for script in scripts:
            names = ", ".join(str(fault.name) for fault in script.faults)
            target = f" for key {script.thumbnail_key!r}" if script.thumbnail_key else ""
            print(f"Scripted faults on {script.endpoint}{target}: {names}", flush=True)
        for endpoint, (calls, period) in rate_limits.items():
            print(f"Rate limit on {endpoint}: {calls} calls per {period:g} s", flush=True)
        if args.latency:
            print(f"Latency: {args.latency:g} s", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


if __name__ == "__main__":
    main()
