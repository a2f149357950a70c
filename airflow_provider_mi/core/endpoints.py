"""
The API's endpoints, as data, and the requests built from them.

An endpoint is one :class:`Endpoint` declaration: method, path template (each ``{name}`` a path
parameter, validated and percent-encoded), the rate limit it counts against and how its
``result`` is parsed. Both hooks serve every endpoint through one pipeline
(:mod:`airflow_provider_mi.core.pipeline`).
"""

from __future__ import annotations

import functools
import json
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlencode

from airflow_provider_mi.core import person_rules as rules
from airflow_provider_mi.core import rate_limit
from airflow_provider_mi.core.models import PresignedUpload, UploadCompletion, Workspace
from airflow_provider_mi.core.persons import (
    MergeResult,
    Page,
    Person,
    PersonTag,
    parse_recommendations,
    parse_similar,
    parse_tag_list,
    parse_thumbnail_list,
)
from airflow_provider_mi.core.responses import parse_completion, parse_presigned_upload, parse_workspace
from airflow_provider_mi.core.signing import signed_headers
from airflow_provider_mi.core.validation import (
    validate_file_name,
    validate_thumbnail_key,
    validate_workspace_name,
)
from airflow_provider_mi.exceptions import InvalidParameterError

JSON_CONTENT_TYPE = "application/json"

T = TypeVar("T")
#: Turns a call's ``result`` into a typed value, given the body that asked for it.
Parser = Callable[[Mapping[str, Any], Mapping[str, Any]], T]

#: The validator of each path parameter an endpoint may name.
PATH_PARAMETERS: dict[str, Callable[[Any], str]] = {
    "workspace_name": validate_workspace_name,
    "person_id": lambda value: rules.validate_id(value, "person_id"),
    "tag_id": lambda value: rules.validate_id(value, "tag_id"),
}


def raw_result(result: Mapping[str, Any], payload: Mapping[str, Any]) -> dict[str, Any]:
    """The parser of endpoints with no typed result: the API's ``result`` as it came."""
    return dict(result)


def _of_result(parse: Callable[[Mapping[str, Any]], T]) -> Parser[T]:
    """A parser that needs only the ``result``."""
    return lambda result, payload: parse(result)


@dataclass(frozen=True)
class ApiRequest(Generic[T]):
    """
    One API call, ready to be signed and sent.

    :param method: HTTP method.
    :param path: the percent-encoded path (with query, if any): exactly the URI that is signed.
    :param body: the JSON body, already encoded, or ``None``.
    :param endpoint: the rate limit the call counts against, e.g. ``complete_upload``; ``None``
        for one the client keeps no limit for.
    :param payload: the body before encoding, for the parser.
    :param parse: turns the call's ``result`` into its typed value.
    """

    method: str
    path: str
    body: bytes | None = None
    endpoint: str | None = None
    payload: Mapping[str, Any] = field(default_factory=dict, repr=False)
    parse: Parser[T] = field(default=raw_result, repr=False, compare=False)  # type: ignore[assignment]

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


def _json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _query(params: Mapping[str, Any]) -> str:
    """Encode a query in a stable order; lists become comma-separated values, as the API takes them."""
    pairs = [
        (name, ",".join(map(str, value)) if isinstance(value, (list, tuple)) else value)
        for name, value in sorted(params.items())
        if value is not None
    ]
    return urlencode(pairs, quote_via=quote)


@functools.cache
def _parameters(path: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in string.Formatter().parse(path) if name)


@dataclass(frozen=True)
class Endpoint(Generic[T]):
    """
    One endpoint of the API, as data.

    :param method: HTTP method.
    :param path: the path template, e.g. ``/api/v1/workspaces/{workspace_name}``; each
        ``{name}`` is a path parameter, validated by :data:`PATH_PARAMETERS`.
    :param parse: how its ``result`` becomes a typed value.
    :param rate_limit: the client-side limit it counts against (see
        :mod:`airflow_provider_mi.core.rate_limit`), or ``None``.
    """

    method: str
    path: str
    parse: Parser[T] = raw_result  # type: ignore[assignment]
    rate_limit: str | None = None

    @property
    def parameters(self) -> tuple[str, ...]:
        """The names of the path parameters, in order."""
        return _parameters(self.path)

    def request(
        self,
        body: Mapping[str, Any] | None = None,
        query: Mapping[str, Any] | None = None,
        **path_parameters: Any,
    ) -> ApiRequest[T]:
        """
        Build the request: the path parameters validated and percent-encoded, the body as JSON.

        :param body: the JSON body, or ``None``.
        :param query: the query parameters (``None`` values left out), or ``None``.
        :param path_parameters: a value for each of :attr:`parameters`.
        """
        if set(path_parameters) != set(self.parameters):
            raise InvalidParameterError(
                f"{self.method} {self.path} takes the path parameters {list(self.parameters)}, "
                f"got {sorted(path_parameters)}."
            )
        values = {
            name: quote(PATH_PARAMETERS[name](value), safe="") for name, value in path_parameters.items()
        }
        path = self.path.format(**values)
        if query and (encoded := _query(query)):
            path += f"?{encoded}"
        return ApiRequest(
            self.method,
            path,
            None if body is None else _json(body),
            self.rate_limit,
            payload=dict(body or {}),
            parse=self.parse,
        )


_WORKSPACE = "/api/v1/workspaces/{workspace_name}"

GET_WORKSPACE: Endpoint[Workspace] = Endpoint("GET", _WORKSPACE, _of_result(parse_workspace))
CREATE_PRESIGNED_UPLOAD: Endpoint[PresignedUpload] = Endpoint(
    "POST",
    f"{_WORKSPACE}/person-thumbnail/uploads/presigned-url",
    _of_result(parse_presigned_upload),
    rate_limit.PRESIGNED_URL,
)
COMPLETE_UPLOAD: Endpoint[UploadCompletion] = Endpoint(
    "POST",
    f"{_WORKSPACE}/person-thumbnail/uploads/complete",
    lambda result, payload: parse_completion(result, payload["thumbnailKey"]),
    rate_limit.COMPLETE_UPLOAD,
)

_PERSONS = f"{_WORKSPACE}/persons"
_PERSON = f"{_PERSONS}/{{person_id}}"
_TAGS = f"{_WORKSPACE}/person-tags"


def _person_endpoint(method: str, path: str, parse: Parser[T]) -> Endpoint[T]:
    return Endpoint(method, path, parse, rate_limit.PERSONS)


_person = _of_result(Person.parse)
_thumbnails = _of_result(parse_thumbnail_list)
_tags = _of_result(parse_tag_list)

CREATE_PERSON = _person_endpoint("POST", _PERSONS, _person)
GET_PERSON = _person_endpoint("GET", _PERSON, _person)
UPDATE_PERSON = _person_endpoint("PATCH", _PERSON, _person)
DELETE_PERSON = _person_endpoint("DELETE", _PERSON, _person)
LIST_PERSONS = _person_endpoint("GET", _PERSONS, _of_result(lambda result: Page.parse(result, Person.parse)))
SEARCH_PERSONS = _person_endpoint(
    "POST", f"{_PERSONS}/search", _of_result(lambda result: Page.parse(result, Person.parse))
)
MERGE_PERSONS = _person_endpoint("POST", f"{_PERSON}/merge", _of_result(MergeResult.parse))
ADD_THUMBNAILS = _person_endpoint("POST", f"{_PERSON}/person-thumbnail", _thumbnails)
REMOVE_THUMBNAILS = _person_endpoint("POST", f"{_PERSON}/person-thumbnail/remove", _thumbnails)
COMPARE_THUMBNAIL = _person_endpoint(
    "POST", f"{_PERSONS}/recommend-by-thumbnail", _of_result(parse_recommendations)
)
SIMILAR_PERSONS = _person_endpoint("GET", f"{_PERSON}/similar", _of_result(parse_similar))
LIST_TAGS = _person_endpoint("GET", _TAGS, _of_result(lambda result: Page.parse(result, PersonTag.parse)))
CREATE_TAG = _person_endpoint("POST", _TAGS, _of_result(PersonTag.parse))
DELETE_TAG = _person_endpoint("DELETE", f"{_TAGS}/{{tag_id}}", _of_result(PersonTag.parse))
ADD_TAGS = _person_endpoint("POST", f"{_PERSON}/person-tags", _tags)
REMOVE_TAGS = _person_endpoint("POST", f"{_PERSON}/person-tags/remove", _tags)

#: Every endpoint the provider wraps: the escape hatch finds the rate limit of a path here.
ENDPOINTS: tuple[Endpoint[Any], ...] = (
    GET_WORKSPACE,
    CREATE_PRESIGNED_UPLOAD,
    COMPLETE_UPLOAD,
    CREATE_PERSON,
    GET_PERSON,
    UPDATE_PERSON,
    DELETE_PERSON,
    LIST_PERSONS,
    SEARCH_PERSONS,
    MERGE_PERSONS,
    ADD_THUMBNAILS,
    REMOVE_THUMBNAILS,
    COMPARE_THUMBNAIL,
    SIMILAR_PERSONS,
    LIST_TAGS,
    CREATE_TAG,
    DELETE_TAG,
    ADD_TAGS,
    REMOVE_TAGS,
)


def complete_upload_request(workspace_name: str, thumbnail_key: str) -> ApiRequest[UploadCompletion]:
    """
    Build ``POST .../person-thumbnail/uploads/complete`` for one thumbnail key.

    :param workspace_name: the Media Intelligence workspace.
    :param thumbnail_key: the key returned when the presigned URL was issued.
    """
    body = {"thumbnailKey": validate_thumbnail_key(thumbnail_key)}
    return COMPLETE_UPLOAD.request(body, workspace_name=workspace_name)


def presigned_url_request(workspace_name: str, file_name: str) -> ApiRequest[PresignedUpload]:
    """
    Build ``POST .../person-thumbnail/uploads/presigned-url`` for one file.

    :param workspace_name: the Media Intelligence workspace.
    :param file_name: the image's file name, e.g. ``face.jpg``.
    """
    body = {"thumbnailFileName": validate_file_name(file_name)}
    return CREATE_PRESIGNED_UPLOAD.request(body, workspace_name=workspace_name)


def workspace_request(workspace_name: str) -> ApiRequest[Workspace]:
    """
    Build ``GET /api/v1/workspaces/{workspace_name}``: the workspace's details (a read).

    :param workspace_name: the Media Intelligence workspace.
    """
    return GET_WORKSPACE.request(workspace_name=workspace_name)


_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
#: Characters a path may hold as they are: unreserved, sub-delims, ``:``, ``@``, ``/`` and ``%``.
_PATH_SAFE = "/%-._~!$&'()*+,;=:@"


def _template_pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"\{[^}]+\}", path)
    return re.compile("[^/]+".join(re.escape(part) for part in parts))


_LIMITS_BY_TEMPLATE = [
    (endpoint.method, _template_pattern(endpoint.path), endpoint.rate_limit) for endpoint in ENDPOINTS
]


def custom_request(
    method: str, path: str, json: Mapping[str, Any] | None = None, params: Mapping[str, Any] | None = None
) -> ApiRequest[dict[str, Any]]:
    """
    Build a request to an endpoint the provider does not wrap (the hooks' ``request``).

    It counts against the rate limit of the wrapped endpoint it matches, if any.

    :param method: HTTP method.
    :param path: the API path, e.g. ``/api/v1/workspaces/my-workspace/persons``; other than ``/``,
        characters that need it are percent-encoded.
    :param json: the JSON body, or ``None``.
    :param params: the query parameters (``None`` values left out), or ``None``.
    """
    verb = method.upper() if isinstance(method, str) else method
    if verb not in _METHODS:
        raise InvalidParameterError(f"method is {method!r}; use one of {sorted(_METHODS)}.")
    if not isinstance(path, str) or not path.startswith("/api/"):
        raise InvalidParameterError(
            f"path is {path!r}; give an API path such as '/api/v1/workspaces/my-workspace/persons' (no "
            "scheme or host: the connection gives those)."
        )
    if "?" in path or "#" in path:
        raise InvalidParameterError(f"path {path!r} holds a query or fragment; pass the query as params.")
    if any(segment in {".", ".."} for segment in path.split("/")):
        raise InvalidParameterError(f"path {path!r} has a '.' or '..' segment; give the path as it is.")
    encoded = quote(path, safe=_PATH_SAFE)
    limit = next(
        (
            name
            for verb_, pattern, name in _LIMITS_BY_TEMPLATE
            if verb_ == verb and pattern.fullmatch(encoded)
        ),
        None,
    )
    if params and (query := _query(params)):
        encoded += f"?{query}"
    body = None if json is None else _json(json)
    return ApiRequest(verb, encoded, body, limit, payload=dict(json or {}))
