"""Hook for the NAVER Cloud Platform Media Intelligence API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
import tenacity
from airflow.providers.common.compat.sdk import BaseHook, mask_secret
from urllib3.exceptions import MaxRetryError

from airflow_provider_mi.core.endpoints import (
    ApiRequest,
    complete_upload_request,
    presigned_url_request,
)
from airflow_provider_mi.core.images import check_image
from airflow_provider_mi.core.models import PresignedUpload, UploadCompletion
from airflow_provider_mi.core.responses import (
    parse_api_response,
    parse_completion,
    parse_presigned_upload,
)
from airflow_provider_mi.core.retry import (
    CallBudget,
    LoggerLike,
    is_retryable,
    replaying,
    retry_arguments,
)
from airflow_provider_mi.core.settings import CONN_TYPE, EXTRA_FIELDS, ConnectionSettings
from airflow_provider_mi.exceptions import (
    InvalidParameterError,
    MediaIntelligenceApiError,
    MediaIntelligenceAuthenticationError,
    MediaIntelligenceConnectionError,
    MediaIntelligenceError,
)
from airflow_provider_mi.get_provider_info import UI_FIELD_BEHAVIOUR

if TYPE_CHECKING:
    import aiohttp
    from airflow.providers.common.compat.sdk import Connection

    from airflow_provider_mi.core.limiter import SharedRateLimiter
    from airflow_provider_mi.core.transport import Transport

#: The placeholder workspace and key ``test_connection`` asks about when the connection names none.
CONNECTION_TEST_WORKSPACE = "airflow-connection-test"
CONNECTION_TEST_KEY = "airflow-connection-test"


def _settings_from(conn: Connection, extras: dict[str, Any], conn_id: str) -> ConnectionSettings:
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


#: A wait for a rate-limit permit at least this long (seconds) is logged.
NOTABLE_WAIT_SECONDS = 1.0


def _log_wait(log: LoggerLike, waited: float, limiter: SharedRateLimiter, request: ApiRequest) -> None:
    if waited >= NOTABLE_WAIT_SECONDS:
        log.info(
            "Waited %.1f s for a turn under the client-side limit of %s (%s).",
            waited,
            limiter.limit.describe(),
            request.endpoint,
        )


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


class MediaIntelligenceHook(BaseHook):
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
        return _settings_from(conn, conn.extra_dejson, self.mi_conn_id)

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

    def _send_once(self, request: ApiRequest) -> dict[str, Any]:
        limiter = self.settings.limiter(request.endpoint)
        if limiter is None:
            return self._exchange(request)
        with limiter.slot() as waited:  # held until the answer is in: see core.limiter
            _log_wait(self.log, waited, limiter, request)
            return self._exchange(request)

    def _exchange(self, request: ApiRequest) -> dict[str, Any]:
        settings = self.settings
        try:
            response = self.session.request(
                request.method,
                request.url(settings.base_url),
                data=request.body,
                headers=request.headers(settings.access_key, settings.secret_key),
                timeout=settings.timeout,
                allow_redirects=False,
            )
        except requests.RequestException as err:
            action = request.describe(settings.base_url)
            raise _transport_error(action, _requests_problem(err), err, settings.timeout) from None
        return parse_api_response(response.status_code, response.headers, response.content)

    def call(self, request: ApiRequest) -> dict[str, Any]:
        """
        Send one signed API request, retrying transient failures, and return its ``result``.

        :param request: the request, built by :mod:`airflow_provider_mi.core.endpoints`.
        """
        with CallBudget().measuring() as budget:  # waits for a rate-limit slot are left out of it
            try:
                return self._send_once(request)
            except MediaIntelligenceError as err:
                if not is_retryable(err):
                    raise
                first_failure = replaying(err)
            for attempt in tenacity.Retrying(**retry_arguments(self.settings.retry, self.log, budget)):
                with attempt:
                    first_failure()
                    return self._send_once(request)
        raise AssertionError("unreachable: tenacity reraises the last error")

    def complete_person_thumbnail_upload(
        self, workspace_name: str | None, thumbnail_key: str
    ) -> UploadCompletion:
        """
        Confirm an upload: ``POST .../person-thumbnail/uploads/complete``.

        :param workspace_name: the workspace, or ``None`` for the connection's default.
        :param thumbnail_key: the key returned when the presigned URL was issued.
        """
        request = complete_upload_request(self.workspace(workspace_name), thumbnail_key)
        completion = parse_completion(self.call(request), thumbnail_key)
        self.log.debug("Upload completion of %s", completion.describe())
        return completion

    def create_presigned_upload(self, workspace_name: str | None, file_name: str) -> PresignedUpload:
        """
        Issue a one-time upload URL: ``POST .../person-thumbnail/uploads/presigned-url``.

        :param workspace_name: the workspace, or ``None`` for the connection's default.
        :param file_name: the image's file name, e.g. ``face.jpg``.
        """
        request = presigned_url_request(self.workspace(workspace_name), file_name)
        presigned = parse_presigned_upload(self.call(request))
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

    def _put_once(self, presigned: PresignedUpload, data: bytes, attempt: int) -> None:
        timeout = self.settings.timeout
        try:
            response = self.session.put(presigned.url, data=data, timeout=timeout, allow_redirects=False)
        except requests.RequestException as err:
            action = f"Uploading thumbnail {presigned.thumbnail_key!r}"
            raise _transport_error(action, _requests_problem(err), err, timeout) from None
        if response.status_code == 403 and attempt > 1:
            # The URL is single-use: an earlier attempt whose answer was lost may have landed.
            # Completion, which follows, tells whether it did.
            self.log.warning(
                "The upload URL of %r is already used; an earlier attempt may have landed.",
                presigned.thumbnail_key,
            )
            return
        if 300 <= response.status_code < 400:
            raise MediaIntelligenceApiError(
                response.status_code, None, "the presigned URL redirected the upload elsewhere (not followed)"
            )
        if response.status_code >= 300:
            hint = "The presigned URL may have expired or been used already; issue a new one."
            raise MediaIntelligenceApiError(
                response.status_code, None, "upload to the presigned URL was refused", hint=hint
            )

    def put_thumbnail(self, presigned: PresignedUpload, data: bytes) -> None:
        """
        ``PUT`` the image bytes to a presigned URL (the URL authorises itself: nothing is signed).

        :param presigned: the presigned upload.
        :param data: the image file's bytes.
        """
        for attempt in tenacity.Retrying(**retry_arguments(self.settings.retry, self.log)):
            with attempt:
                self._put_once(presigned, data, attempt.retry_state.attempt_number)
        self.log.debug("Uploaded %d bytes for thumbnail %r", len(data), presigned.thumbnail_key)

    def upload_person_thumbnail(
        self, workspace_name: str | None, file_name: str, data: bytes
    ) -> UploadCompletion:
        """
        Run the whole upload flow: check the image, issue a presigned URL, upload, complete.

        :param workspace_name: the workspace, or ``None`` for the connection's default.
        :param file_name: the image's file name, e.g. ``face.jpg``.
        :param data: the image file's bytes.
        """
        checked = check_image(data)
        if checked.problem:
            raise InvalidParameterError(
                f"{file_name!r} would be refused ({checked.problem}): {checked.explanation}"
            )
        workspace = self.workspace(workspace_name)
        presigned = self.create_presigned_upload(workspace, file_name)
        self.put_thumbnail(presigned, data)
        return self.complete_person_thumbnail_upload(workspace, presigned.thumbnail_key)

    def test_connection(self) -> tuple[bool, str]:
        """Make one signed request and tell whether the credentials and the host work."""
        try:
            settings = self.settings
            workspace = settings.workspace_name or CONNECTION_TEST_WORKSPACE
            self._send_once(complete_upload_request(workspace, CONNECTION_TEST_KEY))
        except MediaIntelligenceAuthenticationError as err:
            return False, f"Credentials rejected: {err}"
        except MediaIntelligenceApiError as err:
            if err.status in (400, 404) and not settings.workspace_name:
                return True, (
                    f"Credentials accepted by {settings.base_url} (the placeholder workspace "
                    f"{CONNECTION_TEST_WORKSPACE!r} is unknown there, as expected)."
                )
            return False, str(err)
        except MediaIntelligenceError as err:
            return False, str(err)
        where = f"workspace {settings.workspace_name!r}" if settings.workspace_name else settings.base_url
        return True, f"Connection works: signed request accepted by {where}."


@dataclass
class _Lease:
    """A shared async hook and how many users hold it."""

    hook: MediaIntelligenceAsyncHook
    users: int = 0


#: The async hook each (event loop, connection id) shares; see ``MediaIntelligenceAsyncHook.shared``.
_shared_async_hooks: dict[tuple[asyncio.AbstractEventLoop, str], _Lease] = {}


class MediaIntelligenceAsyncHook(BaseHook):
    """
    Asynchronous client of the Media Intelligence API, for triggers.

    It signs, parses and retries with the same core as :class:`MediaIntelligenceHook`; it reads
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
        return _settings_from(conn, await get_async_extra_dejson(conn), self.mi_conn_id)

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

    async def _send_once(self, request: ApiRequest) -> dict[str, Any]:
        limiter = (await self.get_settings()).limiter(request.endpoint)
        if limiter is None:
            return await self._exchange(request)
        async with limiter.slot_async() as waited:  # held until the answer is in: see core.limiter
            _log_wait(self.log, waited, limiter, request)
            return await self._exchange(request)

    async def _exchange(self, request: ApiRequest) -> dict[str, Any]:
        import aiohttp

        settings, session = await self.get_settings(), await self._get_session()
        url = request.url(settings.base_url)
        try:
            async with session.request(
                request.method,
                url,
                data=request.body,
                headers=request.headers(settings.access_key, settings.secret_key),
                allow_redirects=False,
                proxy=settings.transport.proxy_for(url),
            ) as response:
                body = await response.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as err:
            action = request.describe(settings.base_url)
            raise _transport_error(action, _aiohttp_problem(err), err, settings.timeout) from None
        return parse_api_response(response.status, response.headers, body)

    async def call(self, request: ApiRequest) -> dict[str, Any]:
        """
        Send one signed API request, retrying transient failures, and return its ``result``.

        :param request: the request, built by :mod:`airflow_provider_mi.core.endpoints`.
        """
        with CallBudget().measuring() as budget:  # waits for a rate-limit slot are left out of it
            try:
                return await self._send_once(request)
            except MediaIntelligenceError as err:
                if not is_retryable(err):
                    raise
                first_failure = replaying(err)
            policy = (await self.get_settings()).retry
            async for attempt in tenacity.AsyncRetrying(**retry_arguments(policy, self.log, budget)):
                with attempt:
                    first_failure()
                    return await self._send_once(request)
        raise AssertionError("unreachable: tenacity reraises the last error")

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
        result = await self.call(complete_upload_request(workspace, thumbnail_key))
        return parse_completion(result, thumbnail_key)
