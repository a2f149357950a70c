"""
Reading the API's responses: success and error envelopes, ``Retry-After``, typed results.

Both the Media Intelligence envelope (``{"code", "message", "result"}``) and the API Gateway's
(``{"error": {"errorCode", "message", "details"}}``) are understood.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from airflow_provider_mi.core.models import PresignedUpload, UploadCompletion, UploadLanding, Workspace
from airflow_provider_mi.exceptions import (
    MediaIntelligenceApiError,
    MediaIntelligenceAuthenticationError,
    MediaIntelligenceResponseError,
    MediaIntelligenceUploadError,
)

SUCCESS_CODE = "0"
#: The gateway rejects requests whose timestamp is this far from its clock.
CLOCK_SKEW_LIMIT_SECONDS = 300

_AUTH_HINTS = {
    "200": "Check the connection's access key (login) and secret key (password), and that this "
    "machine's clock is right (the gateway refuses timestamps 5 minutes or more off)",
    "210": "The access key is valid but may not use this API: check that Media Intelligence is "
    "subscribed for the account and that the key's sub-account has permission",
}

_NOT_FOUND_HINT = (
    "Check the workspace name (the workspace must exist in the account of the access key) and that "
    "the connection's host is the Media Intelligence API"
)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """
    Return the delay a ``Retry-After`` header asks for, in seconds, or ``None``.

    :param value: the header, either delay-seconds or an HTTP date.
    :param now: the current Unix time (for tests); defaults to ``time.time()``.
    """
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def server_clock_skew(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """
    Return how many seconds the server's ``Date`` header is ahead of this machine, or ``None``.

    :param headers: the response headers.
    :param now: the current Unix time (for tests); defaults to ``time.time()``.
    """
    try:
        server_time = parsedate_to_datetime(headers["Date"]).timestamp()
    except (KeyError, TypeError, ValueError):
        return None
    return server_time - (time.time() if now is None else now)


def _load_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None


_MARKUP = re.compile(r"<!--.*?-->|<(script|style)\b.*?</\1>|<[^>]*>", re.DOTALL | re.IGNORECASE)


def describe_foreign_body(headers: Mapping[str, str], body: bytes) -> str | None:
    """
    Say what a body that is no API envelope held, its content type and first words (``None`` if empty).

    :param headers: the response headers.
    :param body: the raw response body.
    """
    content_type = headers.get("Content-Type") or "no content type"
    text = body[:2000].decode("utf-8", "replace")
    if "html" in content_type.lower():
        text = _MARKUP.sub(" ", text)  # the page's words, not its markup
    words = " ".join(text.split())
    snippet = words[:80] + ("..." if len(words) > 80 else "")
    return f"the body is no API envelope ({content_type}: {snippet!r})" if words else None


def _error_from(
    status: int, headers: Mapping[str, str], payload: Any, body: bytes
) -> MediaIntelligenceApiError:
    retry_after = parse_retry_after(headers.get("Retry-After"))
    gateway = payload.get("error") if isinstance(payload, dict) else None
    envelope: str | None
    if isinstance(gateway, dict):
        code = gateway.get("errorCode")
        code = None if code is None else str(code)
        message, details, envelope = gateway.get("message"), gateway.get("details"), "gateway"
    elif isinstance(payload, dict) and ("code" in payload or "responseError" in payload):
        inner = payload.get("responseError", payload)
        inner = inner if isinstance(inner, dict) else payload
        code = None if inner.get("code") is None else str(inner.get("code"))
        message, details, envelope = inner.get("message"), None, "api"
    else:
        code, message, envelope = None, None, None
        details = describe_foreign_body(headers, body)
    if 300 <= status < 400:
        details = (
            f"redirect to {headers.get('Location')!r} not followed: signed headers are only sent to the "
            "configured host. Check the connection's host"
        )
    if status == 401:
        skew = server_clock_skew(headers)
        hint = _AUTH_HINTS.get(code or "200", _AUTH_HINTS["200"])
        if skew is not None and abs(skew) >= CLOCK_SKEW_LIMIT_SECONDS:
            hint = (
                f"This machine's clock is {abs(skew):.0f} s {'behind' if skew > 0 else 'ahead of'} the "
                "server's; the gateway refuses timestamps 5 minutes or more off. Synchronise the clock (NTP)"
            )
        return MediaIntelligenceAuthenticationError(
            status, code, message, details=details, retry_after=retry_after, hint=hint, envelope=envelope
        )
    not_found = _NOT_FOUND_HINT if status == 404 else None
    return MediaIntelligenceApiError(
        status, code, message, details=details, retry_after=retry_after, hint=not_found, envelope=envelope
    )


def parse_api_response(status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """
    Return ``result`` of a successful response, or raise the error the response stands for.

    :param status: HTTP status code.
    :param headers: response headers (a case-insensitive mapping, as HTTP clients give).
    :param body: the raw response body.
    :raises MediaIntelligenceApiError: on an error status or a non-zero ``code``.
    :raises MediaIntelligenceResponseError: on a 2xx body that cannot be read.
    """
    payload = _load_json(body)
    if not 200 <= status < 300:
        raise _error_from(status, headers, payload, body)
    if not isinstance(payload, dict):
        problem = "empty body" if not body else f"not a JSON object ({len(body)} bytes)"
        raise MediaIntelligenceResponseError(problem, retryable=True)
    code = payload.get("code")
    if code is not None and str(code) != SUCCESS_CODE:
        raise _error_from(status, headers, payload, body)
    result = payload.get("result")
    if not isinstance(result, dict):
        raise MediaIntelligenceResponseError("the success envelope has no 'result' object", retryable=False)
    return result


def parse_completion(result: Mapping[str, Any], thumbnail_key: str) -> UploadCompletion:
    """
    Return the typed completion result from ``result``.

    :param result: the ``result`` object of upload completion.
    :param thumbnail_key: the key that was completed.
    """
    status = result.get("uploadStatus")
    if not isinstance(status, str) or not status:
        raise MediaIntelligenceResponseError("'result.uploadStatus' is missing", retryable=False)
    reason = result.get("uploadMessage")
    return UploadCompletion(thumbnail_key, status, None if reason is None else str(reason))


def parse_presigned_upload(result: Mapping[str, Any]) -> PresignedUpload:
    """
    Return the typed presigned upload from ``result``.

    :param result: the ``result`` object of presigned-URL issue.
    """
    key, url = result.get("thumbnailKey"), result.get("url")
    if not isinstance(key, str) or not isinstance(url, str) or not key or not url:
        raise MediaIntelligenceResponseError(
            "'result.thumbnailKey' or 'result.url' is missing", retryable=False
        )
    expiry = result.get("expirationSeconds")
    return PresignedUpload(key, url, expiry if isinstance(expiry, int) else None)


def parse_workspace(result: Mapping[str, Any]) -> Workspace:
    """
    Return the typed workspace from ``result``.

    :param result: the ``result`` object of ``GET /api/v1/workspaces/{workspace_name}``.
    """
    name = result.get("workspaceName")
    if not isinstance(name, str) or not name:
        raise MediaIntelligenceResponseError("'result.workspaceName' is missing", retryable=False)

    def text(field: str) -> str | None:
        value = result.get(field)
        return value if isinstance(value, str) and value else None

    return Workspace(name, text("workspaceUrl"), text("bucketName"), dict(result))


def parse_storage_answer(status: int, presigned: PresignedUpload, maybe_landed: bool) -> UploadLanding:
    """
    Return what object storage's answer to a ``PUT`` proves, or raise the error it stands for.

    :param status: the HTTP status of the answer.
    :param presigned: the presigned upload the ``PUT`` used.
    :param maybe_landed: whether an earlier attempt's answer was lost (it may have stored the bytes).
    """
    if status < 300:
        return UploadLanding.LANDED
    if status < 400:
        raise MediaIntelligenceUploadError(
            f"The presigned URL of {presigned.thumbnail_key!r} redirected the upload elsewhere (HTTP "
            f"{status}, not followed)."
        )
    if status == 403 and maybe_landed:  # the URL is single-use: the lost attempt may have landed
        return UploadLanding.UNCERTAIN
    if status == 403 and presigned.expired():
        return UploadLanding.NOT_LANDED
    if status == 429 or status >= 500:
        raise MediaIntelligenceApiError(status, None, "object storage refused the upload")
    raise MediaIntelligenceUploadError(
        f"Object storage refused the upload of {presigned.thumbnail_key!r} (HTTP {status}, URL issued "
        f"{presigned.age():.0f} s ago, valid {presigned.expiration_seconds} s). If this persists, check "
        "that this machine reaches the presigned URL's host directly or through the configured proxy."
    )
