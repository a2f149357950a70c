"""
The emulator's fault catalogue: ways the API, its gateway or the network misbehave, by name.

From Python, build faults with the functions here (or :class:`Fault` itself) and script them per
endpoint, and optionally per thumbnail key, in the order they should answer::

    emulator.state.inject("complete", faults.http_error(503), faults.reset(), faults.PASS)

From the command line, ``--fault ENDPOINT:KIND[=ARG][:TIMES]`` scripts one kind (``--fault
complete:503:2``, ``--fault complete:slow=5``), and ``--faults FILE`` reads a JSON list of
``{"endpoint", "fault": "KIND[=ARG]", "times", "thumbnail_key"}`` objects (needed for an ARG with a
``:``, e.g. a redirect URL, or for one key). KIND is a name of :data:`CATALOGUE` or an HTTP
status from 400 to 599 (``=ARG`` then is the ``Retry-After`` header to send).
"""

from __future__ import annotations

import asyncio
import json
import math
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, replace
from email.utils import formatdate
from http import HTTPStatus
from pathlib import Path
from typing import Any

from aiohttp import web

from airflow_provider_mi.emulator.state import ENDPOINTS, Fault

#: Where ``redirect`` points by default: another host, which never resolves.
DEFAULT_REDIRECT = "https://elsewhere.invalid/moved"
#: The API Gateway's error code and message for some statuses.
_GATEWAY_ERRORS = {
    401: ("200", "Authentication Failed"),
    404: ("300", "Not Found Exception"),
    429: ("420", "Rate Limited"),
    500: ("900", "Unexpected Error"),
    502: ("500", "Endpoint Error"),
    503: ("500", "Endpoint Error"),
    504: ("510", "Endpoint Timeout"),
}
_JSON = (("Content-Type", "application/json"),)

#: Answer normally: a gap in a scripted sequence.
PASS = Fault(None, name="pass")


def http_error(status: int, retry_after: str | None = None) -> Fault:
    """
    An error answer with the API Gateway's envelope.

    :param status: the HTTP status, e.g. 503.
    :param retry_after: the ``Retry-After`` header to send, as is (e.g. ``"5"``); none by default.
    """
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    code, message = _GATEWAY_ERRORS.get(status, ("900", phrase))
    body = json.dumps({"error": {"errorCode": code, "message": message}}).encode()
    headers = _JSON if retry_after is None else (*_JSON, ("Retry-After", retry_after))
    return Fault(status, body, headers, name=str(status))


def rate_limited_until(seconds: float = 1.0) -> Fault:
    """HTTP 429 whose ``Retry-After`` is an HTTP date ``seconds`` after the answer."""
    return replace(http_error(429), retry_after_date=seconds, name="429-date")


def reset() -> Fault:
    """The normal answer, the connection closed midway through its headers."""
    return Fault(None, drop="headers", name="reset")


def slow(seconds: float = 1.0) -> Fault:
    """The normal answer, sent after ``seconds`` (a read timeout for a client with a shorter timeout)."""
    return Fault(None, delay=seconds, name="slow")


def truncated() -> Fault:
    """The normal answer, the connection closed midway through its body (shorter than announced)."""
    return Fault(None, drop="body", name="truncated")


def invalid_json() -> Fault:
    """HTTP 200 with a body that is not JSON."""
    return Fault(200, b'{"code": "0", "result": {"uploadStatus": ', _JSON, name="invalid-json")


def gateway_html(status: int = 502) -> Fault:
    """An HTML error page, as a load balancer in front of the API Gateway sends it."""
    title = f"{status} {HTTPStatus(status).phrase}"
    page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1><hr>nginx</body></html>"
    return Fault(status, page.encode(), (("Content-Type", "text/html"),), name=f"html-{status}")


def _envelope(name: str, **fields: Any) -> Fault:
    body = json.dumps({"code": "0", "message": "success", **fields}).encode()
    return Fault(200, body, _JSON, name=name)


def error_code(code: str = "10001", message: str = "Invalid Request.") -> Fault:
    """HTTP 200 whose envelope carries a non-zero ``code``."""
    return _envelope("error-code", code=code, message=message)


def missing_result() -> Fault:
    """A success envelope without ``result``."""
    return _envelope("no-result")


def missing_upload_status() -> Fault:
    """A success envelope whose ``result`` has no ``uploadStatus``."""
    return _envelope("no-upload-status", result={"uploadMessage": None})


def unknown_status(status: str = "PROCESSING") -> Fault:
    """A completion result with an ``uploadStatus`` the provider does not know."""
    return _envelope("unknown-status", result={"uploadStatus": status, "uploadMessage": None})


def redirect(location: str = DEFAULT_REDIRECT) -> Fault:
    """HTTP 302 to ``location``, e.g. another host."""
    return Fault(302, b"", (("Location", location),), name="redirect")


def _seconds(arg: str | None) -> float:
    value = float(arg) if arg else 1.0
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{arg!r} is not a number of seconds")
    return value


#: Fault kinds by name: how to build one from its optional argument, and what it does.
CATALOGUE: dict[str, tuple[Callable[[str | None], Fault], str]] = {
    "pass": (lambda arg: PASS, "answer normally (a gap in a sequence)"),
    "429-date": (
        lambda arg: rate_limited_until(_seconds(arg)),
        "HTTP 429 with Retry-After as an HTTP date ARG seconds later (default 1)",
    ),
    "reset": (lambda arg: reset(), "close the connection midway through the answer's headers"),
    "slow": (lambda arg: slow(_seconds(arg)), "answer normally after ARG seconds (default 1)"),
    "truncated": (lambda arg: truncated(), "close the connection midway through the answer's body"),
    "invalid-json": (lambda arg: invalid_json(), "HTTP 200 with a body that is not JSON"),
    "html-502": (lambda arg: gateway_html(502), "HTTP 502 with an HTML page from a load balancer"),
    "error-code": (lambda arg: error_code(arg or "10001"), "HTTP 200 with code ARG (default 10001)"),
    "no-result": (lambda arg: missing_result(), "a success envelope without 'result'"),
    "no-upload-status": (lambda arg: missing_upload_status(), "a 'result' without 'uploadStatus'"),
    "unknown-status": (
        lambda arg: unknown_status(arg or "PROCESSING"),
        "uploadStatus ARG (default PROCESSING)",
    ),
    "redirect": (
        lambda arg: redirect(arg or DEFAULT_REDIRECT),
        f"HTTP 302 to ARG (default {DEFAULT_REDIRECT})",
    ),
}


def build(kind: str) -> Fault:
    """
    Return the fault ``kind`` names: ``NAME[=ARG]`` from :data:`CATALOGUE`, or ``STATUS[=RETRY_AFTER]``.

    :param kind: e.g. ``503``, ``429=5``, ``slow=2.5``, ``redirect=http://127.0.0.1:9/``.
    """
    name, has_arg, raw_arg = kind.strip().partition("=")
    arg = raw_arg if has_arg else None
    if name.isdigit() and 400 <= int(name) <= 599:
        return http_error(int(name), arg)
    if name not in CATALOGUE:
        raise ValueError(f"unknown fault {name!r}; use an HTTP status 400-599 or one of {sorted(CATALOGUE)}")
    factory, _ = CATALOGUE[name]
    return factory(arg)


@dataclass(frozen=True)
class FaultScript:
    """
    Faults to inject for one endpoint (and optionally one key), in order.

    :param endpoint: one of :data:`~.state.ENDPOINTS`, e.g. ``complete`` or ``create-person``.
    :param faults: the answers, one per request.
    :param thumbnail_key: only for requests about this key (its completions, uploads to its URL).
    """

    endpoint: str
    faults: tuple[Fault, ...]
    thumbnail_key: str | None = None


def _script(endpoint: Any, kind: Any, times: Any, thumbnail_key: Any = None) -> FaultScript:
    if endpoint not in ENDPOINTS:
        raise ValueError(f"unknown endpoint {endpoint!r}; use one of {list(ENDPOINTS)}")
    if not isinstance(kind, str):
        raise ValueError(f"fault must be a text such as '503' or 'slow=2', got {kind!r}")
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ValueError(f"times must be a positive whole number, got {times!r}")
    if thumbnail_key is not None and not isinstance(thumbnail_key, str):
        raise ValueError(f"thumbnail_key must be a text, got {thumbnail_key!r}")
    return FaultScript(endpoint, (build(kind),) * times, thumbnail_key)


def parse_option(spec: str) -> FaultScript:
    """
    Read one ``--fault ENDPOINT:KIND[=ARG][:TIMES]`` option (ARG without ``:``; else use a file).

    :param spec: e.g. ``complete:503:2``.
    """
    parts = spec.split(":")
    if len(parts) not in (2, 3) or (len(parts) == 3 and not parts[2].isdigit()):
        raise ValueError(f"--fault {spec!r} is not ENDPOINT:KIND[=ARG][:TIMES], e.g. complete:503:2")
    return _script(parts[0], parts[1], int(parts[2]) if len(parts) == 3 else 1)


def load_script(path: str | Path) -> list[FaultScript]:
    """
    Read a JSON script: a list of ``{"endpoint", "fault", "times" (1), "thumbnail_key" (none)}``.

    :param path: the JSON file.
    """
    entries = json.loads(Path(path).read_text())
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise ValueError(f"{path}: expected a JSON list of objects")
    scripts = []
    for number, entry in enumerate(entries, 1):
        unknown = sorted(set(entry) - {"endpoint", "fault", "times", "thumbnail_key"})
        if unknown:
            raise ValueError(f"{path}: entry {number} has unknown fields {unknown}")
        try:
            endpoint, kind, times = entry.get("endpoint"), entry.get("fault"), entry.get("times", 1)
            scripts.append(_script(endpoint, kind, times, entry.get("thumbnail_key")))
        except ValueError as err:
            raise ValueError(f"{path}: entry {number}: {err}") from None
    return scripts


async def send(fault: Fault, request: web.Request, response: web.Response, now: float) -> web.Response:
    """
    Send ``response`` as ``fault`` says: after its delay, and cut short if it drops the connection.

    :param fault: the fault answering the request.
    :param request: the request.
    :param response: the answer (the fault's own, or the normal one).
    :param now: the emulator's clock, for a ``Retry-After`` date.
    """
    if fault.retry_after_date is not None:
        response.headers["Retry-After"] = formatdate(now + fault.retry_after_date, usegmt=True)
    await _wait_unless_gone(request, fault.delay)
    transport = request.transport
    if fault.drop is None or transport is None:
        return response
    body = response.body if isinstance(response.body, bytes) else b""
    lines = [f"HTTP/1.1 {response.status} {response.reason}"]
    lines += [f"{name}: {value}" for name, value in response.headers.items() if name != "Content-Length"]
    announced = len(body) or 1  # even an empty answer is cut short: at least one byte is missing
    head = ("\r\n".join([*lines, f"Content-Length: {announced}"]) + "\r\n\r\n").encode()
    if fault.drop == "headers":
        # A reset: part of the status line and headers, then a TCP RST (linger 0) instead of a close.
        transport.write(head[: len(head) // 2])
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.write(head + body[: len(body) // 2])
        transport.close()
    return response  # aiohttp finds the connection closed and drops this answer quietly


async def _wait_unless_gone(request: web.Request, seconds: float) -> None:
    """Sleep ``seconds``, or less if the client hangs up first (as after its read timeout)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while request.transport is not None and (left := deadline - loop.time()) > 0:
        await asyncio.sleep(min(left, 0.05))
