"""Connection settings: turning an Airflow connection's fields into validated client settings."""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_mi.core.limiter import RateLimiter, shared_limiter
from airflow_provider_mi.core.rate_limit import (
    COMPLETE_UPLOAD,
    DEFAULT_RATE_LIMITS,
    MAX_CALLS,
    PERSONS,
    PRESIGNED_URL,
    RateLimit,
)
from airflow_provider_mi.core.redis_limiter import (
    FALLBACK_LOCAL,
    FALLBACKS,
    LEASE_MARGIN_SECONDS,
    RedisTarget,
    redis_limiter,
)
from airflow_provider_mi.core.retry import RetryPolicy
from airflow_provider_mi.core.transport import Transport
from airflow_provider_mi.core.validation import validate_workspace_name
from airflow_provider_mi.exceptions import InvalidParameterError

CONN_TYPE = "ncp_media_intelligence"
DEFAULT_BASE_URL = "https://mi.apigw.ntruss.com"
DEFAULT_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class ExtraField:
    """
    One tunable extra of the connection, as validated here and shown in the UI form.

    :param label: the form field's label.
    :param description: what it means, with its default.
    :param json_type: JSON schema type of the value.
    :param default: the value used when the extra is not set (``None``: no default).
    """

    label: str
    description: str
    json_type: str
    default: Any = None


#: Extras a connection may set: the single source of their names, labels, meaning and defaults.
EXTRA_FIELDS: dict[str, ExtraField] = {
    "workspace_name": ExtraField(
        "Default workspace", "Workspace used when an operator or sensor names none.", "string"
    ),
    "timeout": ExtraField(
        "Request timeout (s)",
        f"Seconds to wait for each HTTP request. Default {DEFAULT_TIMEOUT_SECONDS:g}.",
        "number",
        DEFAULT_TIMEOUT_SECONDS,
    ),
    "max_attempts": ExtraField(
        "Max attempts",
        f"Attempts per API call, the first included, on transient errors. "
        f"Default {RetryPolicy.max_attempts}.",
        "integer",
        RetryPolicy.max_attempts,
    ),
    "retry_budget_seconds": ExtraField(
        "Retry budget (s)",
        f"Total seconds one API call may take with its retries. Default {RetryPolicy.budget_seconds:g}.",
        "number",
        RetryPolicy.budget_seconds,
    ),
    "verify_ssl": ExtraField(
        "Verify TLS", "Verify the server's TLS certificate. Default true.", "boolean", True
    ),
    "ca_bundle_path": ExtraField(
        "CA bundle path",
        "PEM file of the CA certificates to trust, e.g. a corporate proxy's or a private API gateway's. "
        "Default: REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE or SSL_CERT_FILE if set, else certifi's bundle.",
        "string",
    ),
    "proxy_url": ExtraField(
        "Proxy URL",
        "HTTP proxy for every request of this connection, e.g. http://user:password@proxy.example.com:3128 "
        "(https requests are tunnelled with CONNECT). Default: HTTPS_PROXY, HTTP_PROXY or ALL_PROXY, "
        "except for the hosts in NO_PROXY.",
        "string",
    ),
    "complete_calls_per_minute": ExtraField(
        "Completion calls per minute",
        f"Client-side limit of upload-completion calls, shared by every task and trigger of a process "
        f"using these credentials. Default {DEFAULT_RATE_LIMITS[COMPLETE_UPLOAD].calls} (the API's limit), "
        f"at most {MAX_CALLS[COMPLETE_UPLOAD]}.",
        "integer",
        DEFAULT_RATE_LIMITS[COMPLETE_UPLOAD].calls,
    ),
    "presigned_url_calls_per_second": ExtraField(
        "Presigned URL calls per second",
        f"Client-side limit of presigned-URL calls, shared like the one above. "
        f"Default {DEFAULT_RATE_LIMITS[PRESIGNED_URL].calls} (the API's limit), "
        f"at most {MAX_CALLS[PRESIGNED_URL]}.",
        "integer",
        DEFAULT_RATE_LIMITS[PRESIGNED_URL].calls,
    ),
    "person_calls_per_second": ExtraField(
        "Person calls per second",
        f"Client-side limit of the person and person-tag calls together, shared like the ones above. "
        f"NCP documents no limit for them: default {DEFAULT_RATE_LIMITS[PERSONS].calls}, "
        f"at most {MAX_CALLS[PERSONS]}.",
        "integer",
        DEFAULT_RATE_LIMITS[PERSONS].calls,
    ),
    "rate_limit_redis_conn_id": ExtraField(
        "Shared rate limit: Redis connection",
        "Id of an Airflow Redis connection (e.g. the one of Celery's broker): every worker and triggerer "
        "using these credentials then shares the limits above through it. Default: none, each process "
        "keeps the limits on its own.",
        "string",
    ),
    "rate_limit_redis_fallback": ExtraField(
        "If that Redis is unreachable",
        "'local' (default): warn once and let each process keep the limits on its own until Redis "
        "answers again; 'fail': fail the call.",
        "string",
        FALLBACK_LOCAL,
    ),
}

#: Which extra sets the calls of which endpoint's limit, and the period (seconds) it counts them
#: over. Tests and benchmarks that run the emulator's limits faster patch the periods alike.
RATE_LIMIT_EXTRAS: dict[str, tuple[str, float]] = {
    COMPLETE_UPLOAD: ("complete_calls_per_minute", 60.0),
    PRESIGNED_URL: ("presigned_url_calls_per_second", 1.0),
    PERSONS: ("person_calls_per_second", 1.0),
}


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_base_url(host: str | None, schema: str | None = None, port: int | None = None) -> str:
    """
    Return the API base URL from the connection's host, schema and port fields.

    The host may be a full URL (``https://mi.apigw.ntruss.com``) or a bare host name; then the
    schema field, if set, gives the scheme (as for the HTTP provider), else ``https``. Plain
    ``http`` is only allowed for loopback hosts (the emulator).

    :param host: the connection's host field; empty means the public API.
    :param schema: the connection's schema field, ``http`` or ``https``.
    :param port: the connection's port field.
    """
    raw = (host or "").strip()
    if any(char.isspace() for char in raw):
        raise InvalidParameterError(
            f"Connection host {raw!r} contains white space. Give a base URL such as {DEFAULT_BASE_URL!r}."
        )
    if not raw:
        if port or schema:
            raise InvalidParameterError(
                "Connection host is empty but port or schema is set. Put the full base URL in the host "
                f"field, e.g. {DEFAULT_BASE_URL!r}."
            )
        return DEFAULT_BASE_URL
    url = raw if "://" in raw else f"{(schema or 'https').strip().lower()}://{raw}"
    try:
        parts = urlsplit(url)
        url_port = parts.port
    except ValueError as err:
        raise InvalidParameterError(f"Connection host {raw!r} is not a valid URL ({err}).") from None
    if parts.scheme not in {"http", "https"}:
        raise InvalidParameterError(
            f"Connection host {raw!r} uses the scheme {parts.scheme!r}. Use https:// (or http:// for a "
            "local emulator on 127.0.0.1)."
        )
    if not parts.hostname or parts.username or parts.password:
        raise InvalidParameterError(
            f"Connection host {raw!r} must be a base URL such as {DEFAULT_BASE_URL!r}, with no credentials."
        )
    if parts.path.strip("/") or parts.query or parts.fragment:
        raise InvalidParameterError(
            f"Connection host {raw!r} has a path or query. Give only scheme, host and port, "
            f"e.g. {DEFAULT_BASE_URL!r}."
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise InvalidParameterError(
            f"Connection host {raw!r} uses plain http to a non-loopback host, which would expose the "
            "signed requests. Use https:// (plain http is only for an emulator on 127.0.0.1)."
        )
    if url_port is not None and port and url_port != port:
        raise InvalidParameterError(
            f"Connection host {raw!r} and port field {port} disagree. Set one of them."
        )
    final_port = url_port if url_port is not None else port
    if final_port is not None and not 0 < final_port < 65536:
        raise InvalidParameterError(f"Connection port {final_port} is out of range 1-65535.")
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{netloc}" + (f":{final_port}" if final_port else "")


def _number(
    extras: Mapping[str, Any], name: str, default: float, *, integer: bool = False, maximum: int | None = None
) -> Any:
    value = extras.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    valid = not isinstance(value, bool) and math.isfinite(number) and number > 0
    if not valid or (integer and not number.is_integer()):
        kind = "a positive whole number" if integer else "a positive number of seconds"
        raise InvalidParameterError(
            f"Connection extra {name!r} is {value!r}; it must be {kind} (default {default})."
        )
    if maximum is not None and number > maximum:
        raise InvalidParameterError(
            f"Connection extra {name!r} is {value!r}, more than the maximum of {maximum}; set at most "
            f"{maximum} (default {default})."
        )
    return int(number) if integer else number


def _text(extras: Mapping[str, Any], name: str) -> str | None:
    value = extras.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise InvalidParameterError(f"Connection extra {name!r} is {value!r}; it must be a string.")
    return value


def _choice(extras: Mapping[str, Any], name: str, choices: tuple[str, ...]) -> str:
    value = _text(extras, name)
    if value is None:
        return str(EXTRA_FIELDS[name].default)
    if value.strip().lower() not in choices:
        raise InvalidParameterError(
            f"Connection extra {name!r} is {value!r}; use one of {', '.join(map(repr, choices))}."
        )
    return value.strip().lower()


def _flag(extras: Mapping[str, Any], name: str, default: bool) -> bool:
    value = extras.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    # "y" and "n" are what Airflow 2's connection form sends for a checkbox.
    if text in {"true", "1", "yes", "y", "on"}:
        return True
    if text in {"false", "0", "no", "n", "off"}:
        return False
    raise InvalidParameterError(f"Connection extra {name!r} is {value!r}; use true or false.")


@dataclass(frozen=True)
class ConnectionSettings:
    """
    Everything needed to call the API, validated.

    :param access_key: NCP access key ID (the connection's login).
    :param secret_key: NCP secret key (the connection's password); never shown in ``repr``.
    :param base_url: scheme, host and optional port of the API.
    :param timeout: seconds to wait for each HTTP request.
    :param retry: bounds of the retries of one API call.
    :param transport: the proxy and the TLS trust of the requests.
    :param workspace_name: default workspace, if the connection names one.
    :param rate_limits: the client-side limit of each endpoint that has one.
    :param redis_conn_id: the Redis connection that shares the limits between processes, if any.
    :param redis_fallback: ``local`` or ``fail``: what a call does when that Redis is unreachable.
    :param redis: that Redis connection, read (by the hook: the core reads no connection).
    """

    access_key: str
    secret_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    transport: Transport = field(default_factory=Transport)
    workspace_name: str | None = None
    rate_limits: Mapping[str, RateLimit] = field(default_factory=lambda: dict(DEFAULT_RATE_LIMITS))
    redis_conn_id: str | None = None
    redis_fallback: str = FALLBACK_LOCAL
    redis: RedisTarget | None = None

    @property
    def verify_ssl(self) -> bool:
        """Whether to verify the server's TLS certificate."""
        return self.transport.verify

    def resolve_workspace(self, workspace_name: str | None, conn_id: str = "the connection") -> str:
        """
        Return ``workspace_name`` validated, or this connection's default workspace.

        :param workspace_name: the workspace asked for, or ``None`` for the connection's default
            (an empty name is refused: it is likely a template that rendered to nothing).
        :param conn_id: the connection id, named in the error when neither is set.
        """
        if workspace_name is not None:
            return validate_workspace_name(workspace_name)
        if self.workspace_name:
            return self.workspace_name
        raise InvalidParameterError(
            f"workspace_name is not set. Pass workspace_name, or set the 'workspace_name' extra of "
            f"connection {conn_id!r}."
        )

    def limiter(self, endpoint: str | None) -> RateLimiter | None:
        """
        Return the limiter of ``endpoint`` for these credentials and host: shared through Redis
        with every process, when the connection names a Redis, else by this process's hooks.

        :param endpoint: the endpoint's name (``ApiRequest.endpoint``); ``None`` or an endpoint with
            no configured limit gets ``None``.
        """
        if endpoint is None or (limit := self.rate_limits.get(endpoint)) is None:
            return None
        local = shared_limiter(endpoint, limit, base_url=self.base_url, access_key=self.access_key, user=self)
        if self.redis is None:
            return local
        return redis_limiter(
            endpoint,
            limit,
            base_url=self.base_url,
            access_key=self.access_key,
            lease_seconds=2 * self.timeout + LEASE_MARGIN_SECONDS,
            target=self.redis,
            fallback=self.redis_fallback,
            local=local,
        )

    @classmethod
    def from_connection_fields(
        cls,
        *,
        login: str | None,
        password: str | None,
        host: str | None = None,
        schema: str | None = None,
        port: int | None = None,
        extras: Mapping[str, Any] | None = None,
        conn_id: str = "the connection",
    ) -> ConnectionSettings:
        """
        Validate an Airflow connection's fields and return the settings.

        :param login: the access key ID.
        :param password: the secret key.
        :param host: the base URL (or bare host name).
        :param schema: ``http`` or ``https`` when the host has no scheme.
        :param port: the port when the host has none.
        :param extras: the connection's extras (see :data:`EXTRA_FIELDS`).
        :param conn_id: the connection id, named in errors.
        """
        # Older Airflow UIs store form fields as ``extra__<conn_type>__<name>``.
        extras = {key.removeprefix(f"extra__{CONN_TYPE}__"): value for key, value in (extras or {}).items()}
        unknown = sorted(set(extras) - set(EXTRA_FIELDS))
        if unknown:
            raise InvalidParameterError(
                f"Connection {conn_id!r} has unknown extras {unknown}. Known extras: {sorted(EXTRA_FIELDS)}."
            )
        if not (login or password or host or extras):
            raise InvalidParameterError(
                f"Connection {conn_id!r} is empty. Set its login (access key ID) and password (secret key); "
                "in URI form the scheme is written with hyphens: ncp-media-intelligence://KEY:SECRET@HOST."
            )
        if not login or not login.strip():
            raise InvalidParameterError(
                f"Connection {conn_id!r} has no access key. Put the NCP access key ID in the login field."
            )
        if not password:
            raise InvalidParameterError(
                f"Connection {conn_id!r} has no secret key. Put the NCP secret key in the password field."
            )
        workspace = extras.get("workspace_name") or None
        retry = RetryPolicy(
            max_attempts=_number(extras, "max_attempts", RetryPolicy.max_attempts, integer=True),
            budget_seconds=_number(extras, "retry_budget_seconds", RetryPolicy.budget_seconds),
        )
        rate_limits = {}
        for endpoint, (name, period) in RATE_LIMIT_EXTRAS.items():
            default = DEFAULT_RATE_LIMITS[endpoint].calls
            calls = _number(extras, name, default, integer=True, maximum=MAX_CALLS[endpoint])
            rate_limits[endpoint] = RateLimit(calls, period)
        return cls(
            access_key=login.strip(),
            secret_key=password,
            base_url=parse_base_url(host, schema, port),
            timeout=_number(extras, "timeout", DEFAULT_TIMEOUT_SECONDS),
            retry=retry,
            transport=Transport.from_extras(
                proxy_url=_text(extras, "proxy_url"),
                ca_bundle_path=_text(extras, "ca_bundle_path"),
                verify=_flag(extras, "verify_ssl", True),
            ),
            workspace_name=None
            if workspace is None
            else validate_workspace_name(workspace, "workspace_name extra"),
            rate_limits=rate_limits,
            redis_conn_id=_text(extras, "rate_limit_redis_conn_id"),
            redis_fallback=_choice(extras, "rate_limit_redis_fallback", FALLBACKS),
        )
