"""
``test_connection`` succeeds only on an answer the API or its gateway gives: their JSON envelopes.

A plain web server at the connection's host (a typo, a proxy's landing page) answers with HTML;
the test must then fail and say what answered.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from airflow_provider_mi.emulator import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook


def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


class _HtmlHomePage(_Quiet):
    """A web server whose every page is its home page (HTTP 200, HTML)."""

    def do_GET(self) -> None:
        body = b"<html><body><h1>Welcome to nginx!</h1></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def plain_web_server(tmp_path) -> Iterator[str]:
    """Python's own file server on 127.0.0.1: unknown paths get its HTML 404 page."""

    class Handler(_Quiet):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path), **kwargs)

    yield from serve(Handler)


@pytest.fixture
def home_page_server() -> Iterator[str]:
    yield from serve(_HtmlHomePage)


def hook_at(host: str, monkeypatch: pytest.MonkeyPatch, **extra: str) -> MediaIntelligenceHook:
    conn = {
        "conn_type": "ncp_media_intelligence",
        "host": host,
        "login": DEFAULT_ACCESS_KEY,
        "password": DEFAULT_SECRET_KEY,
        "extra": extra,
    }
    monkeypatch.setenv("AIRFLOW_CONN_MI_PROBE", json.dumps(conn))
    return MediaIntelligenceHook(mi_conn_id="mi_probe")


@pytest.mark.parametrize("workspace", [None, "team-faces"])
def test_an_html_404_is_not_mistaken_for_accepted_credentials(plain_web_server, monkeypatch, workspace):
    extra = {"workspace_name": workspace} if workspace else {}
    ok, message = hook_at(plain_web_server, monkeypatch, **extra).test_connection()

    assert ok is False
    assert message.startswith(f"{plain_web_server} answered HTTP 404, but the body is no API envelope")
    assert "(text/html;charset=utf-8: 'Error response" in message and "Error code: 404" in message
    assert "the connection's host is probably not the Media Intelligence API" in message


def test_an_html_page_answering_200_is_not_the_api(home_page_server, monkeypatch):
    ok, message = hook_at(home_page_server, monkeypatch).test_connection()

    assert ok is False
    assert "answered, but not as the Media Intelligence API does" in message
    assert "probably not the API" in message
