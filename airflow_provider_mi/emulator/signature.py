"""
The API Gateway's check of signature v2, implemented from NCP's description, apart from the client's signer.

The gateway recomputes ``HMAC-SHA256(secret key, METHOD " " URI "\\n" TIMESTAMP "\\n" ACCESS KEY)``
(UTF-8; the URI is the path with its query string) and compares the digest with the base64 one
received.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

from airflow_provider_mi.emulator.rules import (
    ACCESS_KEY_HEADER,
    CLOCK_SKEW_SECONDS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
)


def expected_digest(method: str, uri: str, timestamp: str, access_key: str, secret_key: str) -> bytes:
    """
    Return the raw HMAC-SHA256 digest a correctly signed request carries (base64-encoded).

    :param method: the request's HTTP method, e.g. ``POST``.
    :param uri: the path as sent, with its query string.
    :param timestamp: the timestamp header, as sent.
    :param access_key: the access key header, as sent.
    :param secret_key: the secret key registered for that access key.
    """
    message = b"".join(
        (method.encode(), b" ", uri.encode(), b"\n", timestamp.encode(), b"\n", access_key.encode())
    )
    return hmac.digest(secret_key.encode(), message, hashlib.sha256)


def _decoded(signature: str) -> bytes | None:
    try:
        return base64.b64decode(signature, validate=True)
    except ValueError:  # not base64 (binascii.Error), or not ASCII
        return None


def authentication_failure(
    method: str,
    uri: str,
    headers: Mapping[str, str],
    credentials: Mapping[str, str],
    now: float,
) -> str | None:
    """
    Return why the gateway refuses the request's signature, or ``None`` if it accepts it.

    :param method: the request's HTTP method.
    :param uri: the path as sent, with its query string.
    :param headers: the request's headers (looked up case-insensitively by the caller's mapping).
    :param credentials: access key -> secret key of the registered accounts.
    :param now: the gateway's clock, in Unix seconds.
    """
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    access_key = headers.get(ACCESS_KEY_HEADER, "")
    signature = headers.get(SIGNATURE_HEADER, "")
    if not (timestamp and access_key and signature):
        return "Signature headers are missing."
    if not (timestamp.isascii() and timestamp.isdigit()):
        return "Timestamp is invalid."
    if abs(now - int(timestamp) / 1000) >= CLOCK_SKEW_SECONDS:
        return "Timestamp is expired."
    secret_key = credentials.get(access_key)
    if secret_key is None:
        return "Access key is not registered."
    received = _decoded(signature)
    expected = expected_digest(method, uri, timestamp, access_key, secret_key)
    if received is None or not hmac.compare_digest(received, expected):
        return "Signature is invalid."
    return None
