"""Command line: ``python -m airflow_provider_mi.emulator [--port N] [--visibility-delay S] ...``."""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading

from airflow_provider_mi.emulator.server import MediaIntelligenceEmulator
from airflow_provider_mi.emulator.state import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY


def main(argv: list[str] | None = None) -> None:
    """Start the emulator on 127.0.0.1 and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="mi-emulator", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--access-key", default=DEFAULT_ACCESS_KEY)
    parser.add_argument("--secret-key", default=DEFAULT_SECRET_KEY)
    parser.add_argument(
        "--workspace", action="append", help="a workspace that exists (repeat; default: any valid name)"
    )
    parser.add_argument(
        "--visibility-delay", type=float, default=0.0, help="seconds before an upload becomes visible"
    )
    args = parser.parse_args(argv)
    if not 0 <= args.port < 65536:
        parser.error(f"--port {args.port} is out of range 0-65535")
    if args.visibility_delay < 0:
        parser.error("--visibility-delay must not be negative")

    emulator = MediaIntelligenceEmulator(
        port=args.port,
        credentials={args.access_key: args.secret_key},
        workspaces=set(args.workspace) if args.workspace else None,
        visibility_delay=args.visibility_delay,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with emulator:
        print(f"Media Intelligence emulator listening on {emulator.url}", flush=True)
        print(f"export AIRFLOW_CONN_NCP_MI_DEFAULT='{emulator.connection_json()}'", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()


if __name__ == "__main__":
    main()
