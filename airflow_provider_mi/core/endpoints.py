"""Building the API's requests: method, signed path and JSON body."""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

from airflow_provider_mi.core.rate_limit import COMPLETE_UPLOAD, PRESIGNED_URL
from airflow_provider_mi.core.signing import signed_headers
from airflow_provider_mi.core.validation import (
    validate_file_name,
    validate_thumbnail_key,
    validate_workspace_name,
)

JSON_CONTENT_TYPE = "application/json"


@dataclass(frozen=True)
class ApiRequest:
    """
    One API call, ready to be signed and sent.

    :param method: HTTP method.
    :param path: the percent-encoded path (with query, if any): exactly the URI that is signed.
    :param body: the JSON body, already encoded, or ``None``.
    :param endpoint: the endpoint whose rate limit the call counts against, e.g.
        ``complete_upload``; ``None`` for one the client keeps no limit for.
    """

    method: str
    path: str
    body: bytes | None = None
    endpoint: str | None = None

    def url(self, base_url: str) -> str:
        """Return the absolute URL of this request under ``base_url``."""
        return base_url.rstrip("/") + self.path

    def describe(self, base_url: str) -> str:
        """Name the request in messages, e.g. ``POST /api/v1/... to https://host`` (no headers)."""
        return f"{self.method} {self.path} to {base_url}"

    def headers(self, access_key: str, secret_key: str) -> dict[str, str]:
        """Return the headers to send, signed now: call it again for each attempt."""
        headers = signed_headers(self.method, self.path, access_key, secret_key)
        if self.body is not None:
            headers["Content-Type"] = JSON_CONTENT_TYPE
        return headers


def _workspace_path(workspace_name: str, suffix: str = "") -> str:
    workspace = quote(validate_workspace_name(workspace_name), safe="")
    return f"/api/v1/workspaces/{workspace}" + (f"/{suffix}" if suffix else "")


def _json(payload: dict[str, str]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def complete_upload_request(workspace_name: str, thumbnail_key: str) -> ApiRequest:
    """
    Build ``POST .../person-thumbnail/uploads/complete`` for one thumbnail key.

    :param workspace_name: the Media Intelligence workspace.
    :param thumbnail_key: the key returned when the presigned URL was issued.
    """
    key = validate_thumbnail_key(thumbnail_key)
    path = _workspace_path(workspace_name, "person-thumbnail/uploads/complete")
    return ApiRequest("POST", path, _json({"thumbnailKey": key}), COMPLETE_UPLOAD)


def presigned_url_request(workspace_name: str, file_name: str) -> ApiRequest:
    """
    Build ``POST .../person-thumbnail/uploads/presigned-url`` for one file.

    :param workspace_name: the Media Intelligence workspace.
    :param file_name: the image's file name, e.g. ``face.jpg``.
    """
    name = validate_file_name(file_name)
    path = _workspace_path(workspace_name, "person-thumbnail/uploads/presigned-url")
    return ApiRequest("POST", path, _json({"thumbnailFileName": name}), PRESIGNED_URL)


def workspace_request(workspace_name: str) -> ApiRequest:
    """
    Build ``GET /api/v1/workspaces/{workspace_name}``: the workspace's details (a read).

    :param workspace_name: the Media Intelligence workspace.
    """
    return ApiRequest("GET", _workspace_path(workspace_name))
