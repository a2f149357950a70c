"""
A minimal HTTP server for the benchmarks, where the emulator would be the bottleneck.

It answers every completion request with the same body, whatever the signature, and every
``GET /probe/...`` with 404 (what keeps an ``HttpSensorTrigger`` polling). ``GET /_stats`` gives
the counts of both, so a client can count its polls server-side. It prints its URL, then serves
until SIGTERM::

    python -m benchmarks.minimal_server --port 0 --upload-status FAILED
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from collections import Counter

from aiohttp import web

COMPLETE_ROUTE = "/api/v1/workspaces/{workspace}/person-thumbnail/uploads/complete"
PROBE_ROUTE = "/probe/{name:.*}"
STATS_PATH = "/_stats"


def completion_body(upload_status: str) -> bytes:
    """The API's success envelope for one completion answer."""
    message = "FILE_NOT_EXIST" if upload_status == "FAILED" else None
    result = {"uploadStatus": upload_status, "uploadMessage": message}
    return json.dumps({"code": "0", "message": "success", "result": result}).encode()


def build_app(upload_status: str) -> web.Application:
    """The application: completion, probe and stats routes over one counter."""
    counts: Counter[str] = Counter()
    body = completion_body(upload_status)

    async def complete(request: web.Request) -> web.Response:
        await request.read()
        counts["complete"] += 1
        return web.Response(body=body, content_type="application/json")

    async def probe(request: web.Request) -> web.Response:
        counts["probe"] += 1
        return web.Response(status=404, text="Not Found")

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(dict(counts))

    app = web.Application()
    app.router.add_post(COMPLETE_ROUTE, complete)
    app.router.add_get(PROBE_ROUTE, probe)
    app.router.add_get(STATS_PATH, stats)
    return app


async def serve(port: int, upload_status: str) -> None:
    """Serve on 127.0.0.1 until SIGTERM or SIGINT."""
    runner = web.AppRunner(build_app(upload_status), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=4096)
    await site.start()
    print(f"Minimal server listening on http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--upload-status", choices=["COMPLETED", "FAILED"], default="FAILED")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.upload_status))


if __name__ == "__main__":
    main()
