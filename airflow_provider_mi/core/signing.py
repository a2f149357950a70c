"""NCP API Gateway signature v2."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

TIMESTAMP_HEADER = "x-ncp-apigw-timestamp"
ACCESS_KEY_HEADER = "x-ncp-iam-access-key"
SIGNATURE_HEADER = "x-ncp-apigw-signature-v2"


def make_signature(method: str, uri: str, timestamp: str, access_key: str, secret_key: str) -> str:
    """
    Return the signature v2 of one request.

    ``base64(HMAC-SHA256(secret_key, METHOD + " " + URI + "\\n" + TIMESTAMP + "\\n" + ACCESS_KEY))``,
    UTF-8 throughout.

    :param method: HTTP method, e.g. ``POST``.
    :param uri: request path including the query string, without scheme and host.
    :param timestamp: milliseconds since the Unix epoch, as the decimal string sent in the header.
    :param access_key: NCP access key ID.
    :param secret_key: NCP secret key.
    """
    message = f"{method} {uri}\n{timestamp}\n{access_key}".encode()
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_headers(
    method: str, uri: str, access_key: str, secret_key: str, *, timestamp_ms: int | None = None
) -> dict[str, str]:
    """
    Return the three authentication headers for one request, signed now (or at ``timestamp_ms``).

    :param method: HTTP method.
    :param uri: request path including the query string.
    :param access_key: NCP access key ID.
    :param secret_key: NCP secret key.
    :param timestamp_ms: the timestamp to sign; defaults to the current time.
    """
    timestamp = str(timestamp_ms if timestamp_ms is not None else int(time.time() * 1000))
    return {
        TIMESTAMP_HEADER: timestamp,
        ACCESS_KEY_HEADER: access_key,
        SIGNATURE_HEADER: make_signature(method, uri, timestamp, access_key, secret_key),
    }
