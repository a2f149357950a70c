"""An HTTP server that behaves like the Media Intelligence API and its API Gateway, on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import math
import ssl
import threading
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import Any

from aiohttp import web

from airflow_provider_mi.emulator import faults, rules
from airflow_provider_mi.emulator.fields import Refused
from airflow_provider_mi.emulator.judge import judge_thumbnail, require_pillow
from airflow_provider_mi.emulator.person_routes import THUMBNAIL_IMAGE_PATH, PersonRoutes, Result, iso
from airflow_provider_mi.emulator.signature import authentication_failure
from airflow_provider_mi.emulator.state import EmulatorState, RecordedRequest

_WORKSPACE_ROUTE = "/api/v1/workspaces/{workspace}"
_API_PREFIX = _WORKSPACE_ROUTE + "/person-thumbnail/uploads/"
_STORAGE_PREFIX = "/_storage/"
#: The emulator's own control plane (not the API's): no gateway, no latency, not logged.
_CONTROL_PREFIX = "/_emulator/"

#: Who created and last changed every workspace, as ``GET`` workspace reports it.
EMULATOR_USER = "emulator"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: The thumbnail key a request is about, once known (logged with the request). aiohttp 3.14 warns
#: about plain-text keys in a request's storage; the older versions allowed have no typed keys.
THUMBNAIL_KEY: Any = web.RequestKey("thumbnail_key") if hasattr(web, "RequestKey") else "thumbnail_key"


def _gateway_error(status: int, code: str, message: str, details: str | None = None) -> web.Response:
    error: dict[str, Any] = {"errorCode": code, "message": message}
    if details:
        error["details"] = details
    return web.json_response({"error": error}, status=status)


def _api_error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"code": code, "message": message}, status=status)


def _success(result: Any) -> web.Response:
    return web.json_response({"code": "0", "message": "success", "result": result})


def _throttled(retry_after: float) -> web.Response:
    # The gateway's 429 comes as 400 "Quota Exceeded", 410 "Throttle Limited" or 420 "Rate
    # Limited"; the API documents its limits as rate limits, and faults.http_error(429) sends 420.
    response = _gateway_error(429, "420", "Rate Limited")
    response.headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
    return response


class EmulatorApp:
    """The request handlers, over one :class:`EmulatorState`."""

    def __init__(self, state: EmulatorState, public_url: Callable[[], str]) -> None:
        self.state = state
        self.public_url = public_url
        #: The endpoint each API route belongs to, as the log, faults and rate limits name it.
        self._endpoints: dict[web.AbstractRoute, str] = {}

    def build(self) -> web.Application:
        """Return the aiohttp application: the gateway middleware, the API's routes and the control routes."""
        app = web.Application(client_max_size=rules.MAX_IMAGE_BYTES * 4, middlewares=[self._gateway])
        api: list[tuple[str, str, str, Handler]] = [
            ("GET", _WORKSPACE_ROUTE, "workspace", self.workspace),
            ("POST", _API_PREFIX + "presigned-url", "presigned-url", self.presigned_url),
            ("POST", _API_PREFIX + "complete", "complete", self.complete),
            ("PUT", _STORAGE_PREFIX + "{token}", "storage", self.storage_put),
        ]
        persons = PersonRoutes(self.state.people, self.public_url).table()
        api += [(method, path, name, _answering(result)) for method, path, name, result in persons]
        for method, path, name, handler in api:
            self._endpoints[app.router.add_route(method, path, handler)] = name
        app.router.add_get(_CONTROL_PREFIX + "stats", self.control_stats)
        app.router.add_post(_CONTROL_PREFIX + "complete-all", self.control_complete_all)
        app.router.add_post(_CONTROL_PREFIX + "thumbnails", self.control_thumbnails)
        app.router.add_get(THUMBNAIL_IMAGE_PATH + "{thumbnail_id}", self.control_thumbnail_image)
        app.router.add_post(_CONTROL_PREFIX + "advance", self.control_advance)
        app.router.add_get(_CONTROL_PREFIX + "workspaces/{workspace}", self.control_workspace)
        return app

    def _endpoint(self, request: web.Request) -> str:
        return self._endpoints.get(request.match_info.route, "other")

    @web.middleware
    async def _gateway(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Play the API Gateway: latency, faults, routing, authentication and throttle, then the API."""
        if request.path.startswith(_CONTROL_PREFIX):
            return await handler(request)
        if self.state.latency_seconds > 0:
            await asyncio.sleep(self.state.latency_seconds)  # the way to a distant API
        endpoint = self._endpoint(request)
        if endpoint == "complete":
            request[THUMBNAIL_KEY] = await self._json_field(request, "thumbnailKey")
        elif endpoint == "storage":
            request[THUMBNAIL_KEY] = self.state.upload_key(request.match_info["token"])
        fault = self.state.next_fault(endpoint, request.get(THUMBNAIL_KEY))
        response: web.StreamResponse
        if fault is not None and fault.status is not None:
            response = web.Response(status=fault.status, body=fault.body, headers=dict(fault.headers))
        else:
            response = await self._answer(request, handler, endpoint)
        now = self.state.gateway_now()
        response.headers["Date"] = formatdate(now, usegmt=True)
        self.state.record(
            RecordedRequest(
                request.method,
                endpoint,
                request.path,
                response.status,
                request.get(THUMBNAIL_KEY),
                request.headers.get(rules.SIGNATURE_HEADER),
                fault.name if fault else None,
            )
        )
        if fault is None or not isinstance(response, web.Response):
            return response
        return await faults.send(fault, request, response, now)

    async def _answer(self, request: web.Request, handler: Handler, endpoint: str) -> web.StreamResponse:
        if request.match_info.http_exception is not None:
            return _gateway_error(404, "300", "Not Found Exception")
        if endpoint == "storage":
            self.state.admit(endpoint)  # never refused (object storage has no throttle here): counted
            return await handler(request)
        problem = authentication_failure(
            request.method,
            request.raw_path,
            request.headers,
            self.state.credentials,
            self.state.gateway_now(),
        )
        if problem is not None:
            return _gateway_error(401, "200", "Authentication Failed", problem)
        # The gateway throttles after authenticating, as NCP's API Gateway applies an account's
        # usage plan: a request it refuses with 401 is never counted against the limit. The
        # workspace is the API's business, behind the gateway: a 404 for it was admitted.
        retry_after = self.state.admit(endpoint)
        if retry_after is not None:
            return _throttled(retry_after)
        workspace = request.match_info["workspace"]
        if not rules.is_workspace_name(workspace) or not self.state.workspace_exists(workspace):
            return _api_error(404, "10001", f"Invalid Request. Workspace {workspace!r} does not exist.")
        return await handler(request)

    async def _json_field(self, request: web.Request, name: str) -> str | None:
        try:
            payload = json.loads(await request.read())
        except ValueError:
            return None
        value = payload.get(name) if isinstance(payload, dict) else None
        return value if isinstance(value, str) and value.strip() else None

    async def presigned_url(self, request: web.Request) -> web.Response:
        """Issue a one-time upload URL and its thumbnail key."""
        file_name = await self._json_field(request, "thumbnailFileName")
        if file_name is None:
            return _api_error(400, "10001", "Invalid Request. thumbnailFileName is required.")
        token, key = self.state.issue_upload(request.match_info["workspace"], file_name)
        request[THUMBNAIL_KEY] = key
        url = f"{self.public_url()}{_STORAGE_PREFIX}{token}"
        return _success({"thumbnailKey": key, "url": url, "expirationSeconds": int(self.state.url_ttl)})

    async def storage_put(self, request: web.Request) -> web.Response:
        """Take the image bytes PUT to a presigned URL (the object storage's side)."""
        problem = self.state.accept_upload(request.match_info["token"], await request.read())
        if problem is not None:
            return web.Response(status=403, text=f"AccessDenied: {problem}")
        return web.Response(status=200)

    async def complete(self, request: web.Request) -> web.Response:
        """Judge the thumbnail stored under the key, as upload completion does."""
        key = request[THUMBNAIL_KEY]
        if key is None:
            return _api_error(400, "10001", "Invalid Request. thumbnailKey is required.")
        data = self.state.visible_thumbnail(request.match_info["workspace"], key)
        reason = rules.FILE_NOT_EXIST if data is None else judge_thumbnail(data)
        status = rules.FAILED if reason else rules.COMPLETED
        return _success({"uploadStatus": status, "uploadMessage": reason})

    async def workspace(self, request: web.Request) -> web.Response:
        """Describe the workspace, as ``GET /api/v1/workspaces/{workspace_name}`` does."""
        name = request.match_info["workspace"]
        created = iso(self.state.created_at)
        return _success(
            {
                "workspaceName": name,
                "workspaceUrl": f"{self.public_url()}{_CONTROL_PREFIX}workspaces/{name}",
                "bucketName": f"mi-emulator-{name}",
                "monthlyAnalysisCount": 0,
                "createdUserName": EMULATOR_USER,
                "createdTime": created,
                "updatedUserName": EMULATOR_USER,
                "updatedTime": created,
            }
        )

    # --- the emulator's control plane (no signature, no throttle, not logged) ---------------------

    async def control_stats(self, request: web.Request) -> web.Response:
        """``GET /_emulator/stats``: :meth:`EmulatorState.stats` as JSON."""
        return web.json_response(self.state.stats())

    async def control_complete_all(self, request: web.Request) -> web.Response:
        """``POST /_emulator/complete-all``: make every stored thumbnail visible now."""
        return web.json_response({"made_visible": self.state.make_all_visible()})

    async def control_thumbnail_image(self, request: web.Request) -> web.Response:
        """``GET /_emulator/thumbnails/{id}``, a person thumbnail's ``url``: its image."""
        raw = request.match_info["thumbnail_id"]
        data = self.state.people.thumbnail_image(int(raw)) if raw.isascii() and raw.isdigit() else None
        if data is None:
            return web.Response(status=404, text=f"No person has thumbnail {raw}.")
        return web.Response(body=data, content_type=_image_type(data))

    async def control_advance(self, request: web.Request) -> web.Response:
        """``POST /_emulator/advance``, ``{"seconds"}``: move the API's clock on (``state.advance``)."""
        try:
            seconds = json.loads(await request.read())["seconds"]
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                raise ValueError(seconds)
            advanced = self.state.advance(seconds)
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": 'expected {"seconds": a non-negative number}'}, status=400)
        return web.json_response({"advanced": advanced, "now": iso(self.state.now())})

    async def control_workspace(self, request: web.Request) -> web.Response:
        """``GET /_emulator/workspaces/{name}``, a workspace's ``workspaceUrl``: its thumbnails' keys."""
        name = request.match_info["workspace"]
        keys = self.state.thumbnail_keys(name)
        return web.json_response({"workspaceName": name, "thumbnailKeys": keys})

    async def control_thumbnails(self, request: web.Request) -> web.Response:
        """``POST /_emulator/thumbnails``, ``{"workspace", "keys", "visible" (true)}``: store thumbnails."""
        try:
            payload = json.loads(await request.read())
        except ValueError:
            payload = None
        problem = _thumbnails_problem(payload)
        if problem is not None:
            return web.json_response({"error": problem}, status=400)
        stored = self.state.store_thumbnails(
            payload["workspace"], payload["keys"], visible=payload.get("visible", True)
        )
        return web.json_response({"stored": stored})


def _answering(result: Result) -> Handler:
    """Wrap a person handler: its result in the success envelope, a refusal as 400 / 10001."""

    async def handler(request: web.Request) -> web.StreamResponse:
        try:
            return _success(await result(request))
        except Refused as refusal:
            return _api_error(400, "10001", f"Invalid Request. {refusal}")

    return handler


def _image_type(data: bytes) -> str:
    """The media type of a JPEG, PNG or WebP file (the only ones a person's thumbnail can be)."""
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data[8:12] == b"WEBP":
        return "image/webp"
    return "image/jpeg"


def _thumbnails_problem(payload: Any) -> str | None:
    """Return what is wrong with a ``POST /_emulator/thumbnails`` body, or ``None``."""
    if not isinstance(payload, dict):
        return 'expected a JSON object {"workspace": ..., "keys": [...], "visible": true}'
    unknown = sorted(set(payload) - {"workspace", "keys", "visible"})
    if unknown:
        return f"unknown fields {unknown}"
    workspace = payload.get("workspace")
    if not isinstance(workspace, str) or not rules.is_workspace_name(workspace):
        return f"workspace must be a valid workspace name, got {workspace!r}"
    keys = payload.get("keys")
    if not isinstance(keys, list) or not all(isinstance(key, str) and key.strip() for key in keys):
        return "keys must be a list of non-empty texts"
    if not isinstance(payload.get("visible", True), bool):
        return f"visible must be true or false, got {payload['visible']!r}"
    return None


class MediaIntelligenceEmulator:
    """
    A local Media Intelligence API on 127.0.0.1, running in a background thread.

    Use it as a context manager (or ``start()``/``stop()``); point a connection at it with
    :attr:`connection_uri` or :meth:`airflow_env`.

    :param port: port to bind on 127.0.0.1; 0 picks a free one.
    :param state: the emulator's state; a fresh one by default. Its attributes (credentials,
        workspaces, visibility delay, clock offset, rate limits, latency) may also be passed as
        keyword arguments.
    :param ssl_context: serve https with this server context (its certificate must name
        127.0.0.1), e.g. to test clients against a private CA; plain http by default.
    """

    def __init__(
        self,
        port: int = 0,
        state: EmulatorState | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        **state_options: Any,
    ) -> None:
        self.state = state or EmulatorState(**state_options)
        self._ssl_context = ssl_context
        self._requested_port = port
        self._port: int | None = None
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of the running emulator, e.g. ``http://127.0.0.1:41234``."""
        if self._port is None:
            raise RuntimeError("The emulator is not running; call start() or use it as a context manager.")
        return f"{'https' if self._ssl_context else 'http'}://127.0.0.1:{self._port}"

    @property
    def access_key(self) -> str:
        """The access key of the emulator's (first) account."""
        return next(iter(self.state.credentials))

    def connection_json(self, workspace_name: str | None = None) -> str:
        """Return an Airflow connection in JSON form for this emulator."""
        conn: dict[str, Any] = {
            "conn_type": "ncp_media_intelligence",
            "host": self.url,
            "login": self.access_key,
            "password": self.state.credentials[self.access_key],
        }
        if workspace_name:
            conn["extra"] = {"workspace_name": workspace_name}
        return json.dumps(conn)

    def airflow_env(
        self, conn_id: str = "ncp_mi_default", workspace_name: str | None = None
    ) -> dict[str, str]:
        """Return the environment variable that defines connection ``conn_id`` for this emulator."""
        return {f"AIRFLOW_CONN_{conn_id.upper()}": self.connection_json(workspace_name)}

    def start(self) -> MediaIntelligenceEmulator:
        """Start serving in a background thread; return self."""
        require_pillow()  # fail now, with how to install it, rather than at the first completion
        started = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(started,), name="mi-emulator", daemon=True)
        self._thread.start()
        if not started.wait(timeout=10) or self._port is None:
            raise RuntimeError("The Media Intelligence emulator did not start within 10 s.")
        return self

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        app = EmulatorApp(self.state, lambda: self.url).build()
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self._requested_port, ssl_context=self._ssl_context)
        self._loop.run_until_complete(site.start())
        self._port = self._runner.addresses[0][1]
        started.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def stop(self) -> None:
        """Stop serving and wait for the background thread."""
        if self._thread is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None
        self._port = None

    def __enter__(self) -> MediaIntelligenceEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
