"""Hook for the NAVER Cloud Platform Media Intelligence API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import requests
from airflow.providers.common.compat.sdk import AirflowNotFoundException, BaseHook, mask_secret
from urllib3.exceptions import MaxRetryError

from airflow_provider_mi.core.endpoints import (
    ApiRequest,
    complete_upload_request,
    custom_request,
    presigned_url_request,
    workspace_request,
)
from airflow_provider_mi.core.images import check_image
from airflow_provider_mi.core.models import (
    PresignedUpload,
    UploadCompletion,
    UploadLanding,
    UploadOutcome,
    Workspace,
)
from airflow_provider_mi.core.pipeline import Answer, Exchange, Failure, api_call, run, run_async, upload
from airflow_provider_mi.core.redis_limiter import FALLBACK_FAIL, RedisTarget
from airflow_provider_mi.core.retry import RetryPolicy
from airflow_provider_mi.core.settings import CONN_TYPE, DEFAULT_BASE_URL, EXTRA_FIELDS, ConnectionSettings
from airflow_provider_mi.exceptions import (
    InvalidParameterError,
    MediaIntelligenceApiError,
    MediaIntelligenceAuthenticationError,
    MediaIntelligenceConnectionError,
    MediaIntelligenceError,
    MediaIntelligenceResponseError,
    MediaIntelligenceUploadError,
)
from airflow_provider_mi.get_provider_info import UI_FIELD_BEHAVIOUR
from airflow_provider_mi.hooks.persons import AsyncPersonsMixin, PersonsMixin

if TYPE_CHECKING:
    import aiohttp
    from airflow.providers.common.compat.sdk import Connection

    from airflow_provider_mi.core.transport import Transport

#: The placeholder workspace ``test_connection`` reads when the connection names none.
CONNECTION_TEST_WORKSPACE = "airflow-connection-test"


def _settings_from(conn: Connection, extras: dict[str, Any], conn_id: str) -> ConnectionSettings:
    """Validate the connection; the Redis connection it names for shared limits is read after."""
    if conn.password:
        mask_secret(conn.password)
    settings = ConnectionSettings.from_connection_fields(
        login=conn.login,
        password=conn.password,
        host=conn.host,
        schema=conn.schema,
        port=conn.port,
        extras=extras,
        conn_id=conn_id,
    )
    for secret in settings.transport.secrets():  # a proxy's password
        mask_secret(secret)
    return settings


def _with_redis(
    settings: ConnectionSettings, redis: Connection, extras: dict[str, Any]
) -> ConnectionSettings:
    """Return ``settings`` sharing their limits through the Redis connection ``redis``."""
    if redis.password:
        mask_secret(redis.password)
    target = RedisTarget.from_connection_fields(
        host=redis.host,
        port=redis.port,
        login=redis.login,
        password=redis.password,
        extras=extras,
        conn_id=str(settings.redis_conn_id),
    )
    return replace(settings, redis=target)


def _missing_redis(settings: ConnectionSettings, conn_id: str) -> InvalidParameterError:
    return InvalidParameterError(
        f"Connection {conn_id!r} shares its rate limits through the Redis connection "
        f"{settings.redis_conn_id!r} (extra 'rate_limit_redis_conn_id'), which does not exist. Create an "
        "Airflow connection of type Redis with that id, or remove the extra."
    )


class _Session(requests.Session):
    """
    A session that sends each request through the proxy, and with the TLS trust, that the core
    decided (:class:`~airflow_provider_mi.core.transport.Transport`), in place of requests' own
    reading of the environment, which would let ``REQUESTS_CA_BUNDLE`` override ``verify_ssl``.

    :param transport: the connection's decision.
    """

    def __init__(self, transport: Transport) -> None:
        super().__init__()
        self.transport = transport
        self.trust_env = False  # no proxies, CA bundle or .netrc credentials of requests' choosing

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        merged = super().merge_environment_settings(url, proxies, stream, verify, cert)
        proxy = self.transport.proxy_for(url)
        merged["proxies"] = {} if proxy is None else {urlsplit(url).scheme: proxy}
        merged["verify"] = self.transport.requests_verify
        return merged


#: What a request that got no readable answer ran into, by kind (see :func:`_transport_error`).
_TRANSPORT_PROBLEMS = {
    "connect": "could not connect ({error}). Check the connection's host and port, and this machine's "
    "network",
    "timeout": "got no answer within {timeout:g} s ({error}). If the API is only slow, raise the "
    "connection's 'timeout' extra; else check the network",
    "broken": "lost the connection before the whole answer arrived ({error}). This is usually "
    "transient; if it persists, check the network and any proxy between here and the host",
    "proxy": "could not get through the proxy ({error}). Check the proxy that the connection's "
    "'proxy_url' extra (else HTTPS_PROXY and NO_PROXY) names, its credentials, and that it is up",
    "tls": "could not verify the server's TLS certificate ({error}). If a private CA signed it (a "
    "corporate proxy's, a test server's), set the connection's 'ca_bundle_path' extra or "
    "REQUESTS_CA_BUNDLE to that CA's PEM file",
}


def _transport_error(action: str, problem: str, err: Exception, timeout: float) -> MediaIntelligenceError:
    """
    Explain a request that got no readable answer, without the request's headers or URL query.

    :param action: what was attempted, e.g. ``POST /api/v1/... to https://host``.
    :param problem: ``connect``, ``timeout``, ``broken``, ``proxy`` or ``tls``.
    :param err: the HTTP client's exception (only its type is shown).
    :param timeout: the request timeout in seconds.
    """
    text = _TRANSPORT_PROBLEMS[problem].format(error=type(err).__name__, timeout=timeout)
    # An untrusted certificate stays untrusted: fail now rather than retry (or poll) in vain.
    error_type = MediaIntelligenceError if problem == "tls" else MediaIntelligenceConnectionError
    return error_type(f"{action} {text}.")


#: Presigned URLs one upload may use when the evidence says an upload did not land.
MAX_UPLOAD_URLS = 3
#: A connection test makes one attempt: it must answer fast, and say what it saw.
_ONE_ATTEMPT = RetryPolicy(max_attempts=1)

T = TypeVar("T")


def _requests_problem(err: requests.RequestException) -> str:
    if isinstance(err, requests.exceptions.SSLError):
        return "tls"
    if isinstance(err, requests.exceptions.ProxyError):
        return "proxy"
    if isinstance(err, requests.Timeout):
        return "timeout"
    if isinstance(err, requests.ConnectionError) and err.args and isinstance(err.args[0], MaxRetryError):
        return "connect"  # requests wraps failures to open a connection so; later ones are not
    return "broken"


def _aiohttp_problem(err: Exception) -> str:
    import aiohttp

    if isinstance(err, aiohttp.ClientSSLError):
        return "tls"
    if isinstance(err, (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError)):
        return "proxy"
    if isinstance(err, asyncio.TimeoutError):
        return "timeout"
    return "connect" if isinstance(err, aiohttp.ClientConnectorError) else "broken"


class MediaIntelligenceHook(PersonsMixin, BaseHook):
    """
    Interact with the NCP Media Intelligence API: signed requests, retries and typed results.

    Credentials come from an Airflow connection of type ``ncp_media_intelligence``: login is the
    access key ID, password the secret key, host the API base URL (empty for the public API).
    One HTTP session is kept for all calls of the hook.

    :param mi_conn_id: the Airflow connection id.
    """

    conn_name_attr = "mi_conn_id"
    default_conn_name = "ncp_mi_default"
    conn_type = CONN_TYPE
    hook_name = "NCP Media Intelligence"

    def __init__(self, mi_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mi_conn_id = mi_conn_id

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mi_conn_id={self.mi_conn_id!r})"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Return the connection form's field behaviour (read by Airflow 2's UI)."""
        return UI_FIELD_BEHAVIOUR

    @classmethod
    def get_connection_form_widgets(cls) -> dict[str, Any]:
        """Return the connection form's extra fields (read by Airflow 2's UI)."""
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from wtforms import BooleanField, StringField

        widgets: dict[str, Any] = {}
        for name, extra in EXTRA_FIELDS.items():
            if extra.json_type == "boolean":
                widgets[name] = BooleanField(extra.label, description=extra.description, default=True)
            else:
                widgets[name] = StringField(
                    extra.label, description=extra.description, widget=BS3TextFieldWidget()
                )
        return widgets

    @cached_property
    def settings(self) -> ConnectionSettings:
        """The validated settings of the connection (loaded once, on first use)."""
        conn = self.get_connection(self.mi_conn_id)
        settings = _settings_from(conn, conn.extra_dejson, self.mi_conn_id)
        if settings.redis_conn_id is None:
            return settings
        try:
            redis = self.get_connection(settings.redis_conn_id)
        except AirflowNotFoundException:
            raise _missing_redis(settings, self.mi_conn_id) from None
        return _with_redis(settings, redis, redis.extra_dejson)

    @cached_property
    def session(self) -> requests.Session:
        """The HTTP session reused by every call of this hook."""
        return _Session(self.settings.transport)

    def close(self) -> None:
        """Close the HTTP session, if one was opened."""
        if "session" in self.__dict__:
            self.__dict__.pop("session").close()

    def workspace(self, workspace_name: str | None) -> str:
        """
        Return ``workspace_name`` validated, or the connection's default workspace.

        :param workspace_name: the workspace asked for, or ``None`` for the connection's default.
        """
        return self.settings.resolve_workspace(workspace_name, self.mi_conn_id)

    def _send(self, exchange: Exchange) -> Answer | Failure:
        """Send one request, holding its rate-limit slot until the answer is in (see core.limiter)."""
        timeout = self.settings.timeout
        with exchange.slot() as waited:
            try:
                response = self.session.request(
                    exchange.method,
                    exchange.url,
                    data=exchange.body,
                    headers=exchange.sign(),
                    timeout=timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as err:
                problem = _requests_problem(err)
                return Failure(_transport_error(exchange.action, problem, err, timeout), waited)
        return Answer(response.status_code, response.headers, response.content, waited)

    def call(self, request: ApiRequest[T], policy: RetryPolicy | None = None) -> T:
        """
        Send one signed API request, retrying transient failures, and return its parsed ``result``.

        :param request: the request, built by :mod:`airflow_provider_mi.core.endpoints`.
        :param policy: the retries to allow; by default the connection's.
        """
        return run(api_call(request, self.settings, self.log, policy), self._send)

    def request(
        self,
        method: str,
        path: str,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """
        Call an endpoint this provider does not wrap: signed, rate-limited, retried and parsed
        like every other call. Returns the API's ``result`` as it came.

        :param method: HTTP method, e.g. ``GET``.
        :param path: the API path, e.g. ``/api/v1/workspaces/my-workspace/persons``.
        :param json: the JSON body, or ``None``.
        :param params: the query parameters, or ``None``.
        """
        return self.call(custom_request(method, path, json, params))

    def complete_person_thumbnail_upload(
        self, workspace_name: str | None, thumbnail_key: str
    ) -> UploadCompletion:
        """
        Confirm an upload: ``POST .../person-thumbnail/uploads/complete``.

        :param workspace_name: the workspace, or ``None`` for the connection's default.
        :param thumbnail_key: the key returned when the presigned URL was issued.
        """
        completion = self.call(complete_upload_request(self.workspace(workspace_name), thumbnail_key))
        self.log.debug("Upload completion of %s", completion.describe())
        return completion

    def create_presigned_upload(self, workspace_name: str | None, file_name: str) -> PresignedUpload:
        """
        Issue a one-time upload URL: ``POST .../person-thumbnail/uploads/presigned-url``.

        :param workspace_name: the workspace, or ``None`` for the connection's default.
        :param file_name: the image's file name, e.g. ``face.jpg``.
        """
        presigned = self.call(presigned_url_request(self.workspace(workspace_name), file_name))
        # The URL authorises the upload by itself. Only urllib3 ever writes it, with its path and
        # query, in its DEBUG lines: register it with the masker when those are on. (Each secret
        # registered makes the next registration dearer: a bulk upload of a thousand files would
        # spend half a minute of CPU on it, for nothing when nothing logs the URLs.)
        if logging.getLogger("urllib3.connectionpool").isEnabledFor(logging.DEBUG):
            parts = urlsplit(presigned.url)
            mask_secret(presigned.url)
            mask_secret(parts.path + (f"?{parts.query}" if parts.query else ""))
        self.log.debug("Issued a presigned upload URL for thumbnail %r", presigned.thumbnail_key)
        return presigned

    def put_thumbnail(self, presigned: PresignedUpload, data: bytes) -> UploadLanding:
        """
        ``PUT`` the image bytes to a presigned URL (the URL authorises itself: nothing is signed).

        Transient failures are retried. Returns what the answers prove: the bytes landed, may have
        landed (an attempt's answer was lost and the single-use URL then refused or expired), or
        did not land (the URL expired first).

        :param presigned: the presigned upload.
        :param data: the image file's bytes.
        """
        landing = run(upload(presigned, data, self.settings, self.log), self._send)
        if landing is UploadLanding.UNCERTAIN:
            self.log.warning(
                "An attempt to upload %r lost its answer, and the single-use URL then refused another "
                "or expired: the first may have landed; completion will tell.",
                presigned.thumbnail_key,
            )
        self.log.debug("Upload of %d bytes for thumbnail %r: %s", len(data), presigned.thumbnail_key, landing)
        return landing

    @staticmethod
    def check_thumbnail(file_name: str, data: bytes) -> None:
        """
        Refuse an image the API would refuse (format, size, resolution), before anything is sent.

        :param file_name: the image's file name, for the error.
        :param data: the image file's bytes.
        :raises InvalidParameterError: saying why.
        """
        checked = check_image(data)
        if checked.problem:
            raise InvalidParameterError(
                f"{file_name!r} would be refused ({checked.problem}): {checked.explanation}"
            )

    def upload_person_thumbnail(
        self,
        workspace_name: str | None,
        file_name: str,
        data: bytes,
        *,
        presigned: PresignedUpload | None = None,
        on_presigned: Callable[[PresignedUpload], None] | None = None,
    ) -> UploadCompletion:
        """
        Run the whole upload flow: check the image, issue a presigned URL, upload, complete.

        The result is ``waiting`` (``FILE_NOT_EXIST``) only for bytes that storage acknowledged.
        When the evidence says the bytes did not land (an expired URL), or completion does not see
        bytes that may have landed, a new URL is issued and the image uploaded again, at most
        :data:`MAX_UPLOAD_URLS` URLs in all.

        :param workspace_name: the workspace, or ``None`` for the connection's default.
        :param file_name: the image's file name, e.g. ``face.jpg``.
        :param data: the image file's bytes.
        :param presigned: a URL issued for this image already, used first.
        :param on_presigned: called with each URL this call issues, before its upload (a caller
            that records each key before its bytes are sent does it there).
        :raises MediaIntelligenceUploadError: when no URL is known to hold the image.
        """
        self.check_thumbnail(file_name, data)
        workspace = self.workspace(workspace_name)
        for number in range(1, MAX_UPLOAD_URLS + 1):
            if presigned is None or number > 1:
                presigned = self.create_presigned_upload(workspace, file_name)
                if on_presigned is not None:
                    on_presigned(presigned)
            landing = self.put_thumbnail(presigned, data)
            if landing is not UploadLanding.NOT_LANDED:
                completion = self.complete_person_thumbnail_upload(workspace, presigned.thumbnail_key)
                if landing is UploadLanding.LANDED or completion.outcome() is not UploadOutcome.WAITING:
                    return completion
            self.log.warning(
                "%s did not land under %r (%s); uploading it again with a new URL (%d of %d).",
                file_name,
                presigned.thumbnail_key,
                "the URL expired first"
                if landing is UploadLanding.NOT_LANDED
                else "completion does not see it",
                number + 1,
                MAX_UPLOAD_URLS,
            )
        raise MediaIntelligenceUploadError(
            f"{file_name!r} could not be uploaded: {MAX_UPLOAD_URLS} presigned URLs were issued and none is "
            "known to hold the file (each upload was refused or lost, and completion never saw it). Check "
            "that this machine reaches object storage, then run the task again."
        )

    def get_workspace(self, workspace_name: str | None = None) -> Workspace:
        """
        Describe a workspace: ``GET /api/v1/workspaces/{workspace_name}``.

        :param workspace_name: the workspace, or ``None`` for the connection's default.
        """
        return self.call(workspace_request(self.workspace(workspace_name)))

    def test_connection(self) -> tuple[bool, str]:
        """
        Read a workspace (a read-only probe) and tell whether the credentials and the host work.

        Success rests on an answer only the API or its gateway gives: their JSON envelopes. The
        connection's workspace is read when it names one, else a placeholder that the API answers
        with its own "unknown workspace" envelope once the gateway has accepted the signature.
        """
        try:
            settings = self.settings
            workspace = settings.workspace_name or CONNECTION_TEST_WORKSPACE
            found = self.call(workspace_request(workspace), _ONE_ATTEMPT)
        except MediaIntelligenceAuthenticationError as err:
            return False, f"Credentials rejected: {err}"
        except MediaIntelligenceApiError as err:
            return _probe_refused(err, settings)
        except MediaIntelligenceResponseError as err:
            return False, (
                f"{settings.base_url} answered, but not as the Media Intelligence API does ({err}): the "
                f"connection's host is probably not the API (the public API is {DEFAULT_BASE_URL})."
            )
        except MediaIntelligenceError as err:
            return False, str(err)
        if not settings.workspace_name:
            return _with_shared_limits(settings, f"Credentials accepted by {settings.base_url}.")
        return _with_shared_limits(
            settings, f"Connection works: workspace {found.workspace_name!r} found at {settings.base_url}."
        )


def _with_shared_limits(settings: ConnectionSettings, verdict: str) -> tuple[bool, str]:
    """Add to a successful probe's verdict whether the Redis sharing the limits answers."""
    if settings.redis is None:
        return True, verdict
    problem = settings.redis.problem()
    if problem is None:
        return True, f"{verdict} Rate limits shared through {settings.redis.describe()}."
    if settings.redis_fallback == FALLBACK_FAIL:
        return (
            False,
            f"{verdict} But {problem}, and 'rate_limit_redis_fallback' is 'fail': calls would fail.",
        )
    return True, (
        f"{verdict} But {problem}: until it answers, each process keeps the rate limits on its own "
        "('rate_limit_redis_fallback' is 'local'), so together they may exceed the quota."
    )


def _probe_refused(err: MediaIntelligenceApiError, settings: ConnectionSettings) -> tuple[bool, str]:
    """Judge the error that answered ``test_connection``'s probe: whose answer it is, and what it means."""
    if err.envelope is None:
        return False, (
            f"{settings.base_url} answered HTTP {err.status}, but {err.details or 'with an empty body'}: "
            "the connection's host is probably not the Media Intelligence API. Check the host (the "
            f"public API is {DEFAULT_BASE_URL})."
        )
    if err.envelope == "api" and err.status in (400, 404):
        if not settings.workspace_name:
            return True, (
                f"Credentials accepted by {settings.base_url} (the placeholder workspace "
                f"{CONNECTION_TEST_WORKSPACE!r} is unknown there, as expected)."
            )
        return False, (
            f"Credentials accepted by {settings.base_url}, but workspace {settings.workspace_name!r} was "
            f"not found: {err} Check the connection's workspace_name extra."
        )
    return False, str(err)


@dataclass
class _Lease:
    """A shared async hook and how many users hold it."""

    hook: MediaIntelligenceAsyncHook
    users: int = 0


#: The async hook each (event loop, connection id) shares; see ``MediaIntelligenceAsyncHook.shared``.
_shared_async_hooks: dict[tuple[asyncio.AbstractEventLoop, str], _Lease] = {}


class MediaIntelligenceAsyncHook(AsyncPersonsMixin, BaseHook):
    """
    Asynchronous client of the Media Intelligence API, for triggers.

    It signs, parses and retries with the same core as :class:`MediaIntelligenceHook`, and has
    the same person methods (awaitable; the listings async iterators); it reads
    the connection once and keeps one ``aiohttp`` session for all its calls. Call :meth:`close`
    when done, or borrow the hook that every trigger of the event loop shares for a connection
    with :meth:`shared`.

    :param mi_conn_id: the Airflow connection id.
    """

    default_conn_name = MediaIntelligenceHook.default_conn_name

    def __init__(self, mi_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mi_conn_id = mi_conn_id
        self._settings: ConnectionSettings | None = None
        self._settings_lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None

    @classmethod
    @asynccontextmanager
    async def shared(cls, mi_conn_id: str = default_conn_name) -> AsyncIterator[MediaIntelligenceAsyncHook]:
        """
        Lend the hook shared by all users of ``mi_conn_id`` in the running event loop.

        Thousands of triggers waiting in one triggerer then share one connection lookup and one
        HTTP connection pool. The hook is closed when its last user leaves, so the next user reads
        the connection anew (e.g. after the credentials were rotated).

        :param mi_conn_id: the Airflow connection id.
        """
        key = (asyncio.get_running_loop(), mi_conn_id)
        lease = _shared_async_hooks.get(key)
        if lease is None:
            lease = _shared_async_hooks[key] = _Lease(cls(mi_conn_id=mi_conn_id))
        lease.users += 1
        try:
            yield lease.hook
        finally:
            lease.users -= 1
            if lease.users == 0:
                del _shared_async_hooks[key]
                await lease.hook.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mi_conn_id={self.mi_conn_id!r})"

    async def get_settings(self) -> ConnectionSettings:
        """Return the validated settings of the connection, read once without blocking the loop."""
        if self._settings is None:
            async with self._settings_lock:  # the hook's users wait for one lookup
                if self._settings is None:
                    self._settings = await self._read_settings()
        return self._settings

    async def _read_settings(self) -> ConnectionSettings:
        from airflow.providers.common.compat.connection import get_async_connection, get_async_extra_dejson

        conn = await get_async_connection(self.mi_conn_id, self)
        settings = _settings_from(conn, await get_async_extra_dejson(conn), self.mi_conn_id)
        if settings.redis_conn_id is None:
            return settings
        try:
            redis = await get_async_connection(settings.redis_conn_id, self)
        except AirflowNotFoundException:
            raise _missing_redis(settings, self.mi_conn_id) from None
        return _with_redis(settings, redis, await get_async_extra_dejson(redis))

    async def _get_session(self) -> aiohttp.ClientSession:
        import aiohttp

        settings = await self.get_settings()
        # No await between the check and the assignment: the triggers sharing this hook must not
        # each open a session of their own.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=settings.timeout),
                connector=aiohttp.TCPConnector(ssl=settings.transport.ssl_context()),
            )
        return self._session

    async def close(self) -> None:
        """Close the HTTP session, if one was opened."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _send(self, exchange: Exchange) -> Answer | Failure:
        """Send one request, holding its rate-limit slot until the answer is in (see core.limiter)."""
        import aiohttp

        settings, session = await self.get_settings(), await self._get_session()
        async with exchange.slot_async() as waited:
            try:
                async with session.request(
                    exchange.method,
                    exchange.url,
                    data=exchange.body,
                    headers=exchange.sign(),
                    allow_redirects=False,
                    proxy=settings.transport.proxy_for(exchange.url),
                ) as response:
                    body = await response.read()
            except (TimeoutError, aiohttp.ClientError) as err:
                problem = _aiohttp_problem(err)
                return Failure(_transport_error(exchange.action, problem, err, settings.timeout), waited)
        return Answer(response.status, response.headers, body, waited)

    async def call(self, request: ApiRequest[T], policy: RetryPolicy | None = None) -> T:
        """
        Send one signed API request, retrying transient failures, and return its parsed ``result``.

        :param request: the request, built by :mod:`airflow_provider_mi.core.endpoints`.
        :param policy: the retries to allow; by default the connection's.
        """
        return await run_async(api_call(request, await self.get_settings(), self.log, policy), self._send)

    async def request(
        self,
        method: str,
        path: str,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """
        Call an endpoint this provider does not wrap, as :meth:`MediaIntelligenceHook.request` does.

        :param method: HTTP method, e.g. ``GET``.
        :param path: the API path, e.g. ``/api/v1/workspaces/my-workspace/persons``.
        :param json: the JSON body, or ``None``.
        :param params: the query parameters, or ``None``.
        """
        return await self.call(custom_request(method, path, json, params))

    async def complete_person_thumbnail_upload(
        self, workspace_name: str | None, thumbnail_key: str
    ) -> UploadCompletion:
        """
        Ask for the completion status of one thumbnail key (a read: safe to repeat).

        :param workspace_name: the workspace, or ``None`` for the connection's default.
        :param thumbnail_key: the key returned when the presigned URL was issued.
        """
        settings = await self.get_settings()
        workspace = settings.resolve_workspace(workspace_name, self.mi_conn_id)
        return await self.call(complete_upload_request(workspace, thumbnail_key))
