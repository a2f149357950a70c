"""
Reading a person request's parameters (its JSON body or its query string) with the API's rules.

Every problem raises :class:`Refused`, which the server answers with HTTP 400 and
``{"code": "10001", "message": "Invalid Request. <what is wrong>"}``. ``null`` counts as omitted.
Fields the endpoint does not take are refused, so that a misspelt one is not silently ignored.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any, TypeVar

from airflow_provider_mi.emulator.rules import Bounds

_T = TypeVar("_T")


class Refused(Exception):
    """A request the API refuses as invalid; the message says what is wrong (after "Invalid Request.")."""


def json_object(body: bytes) -> dict[str, Any]:
    """
    Return a request body's JSON object, or refuse it.

    :param body: the raw body.
    """
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise Refused("The body must be a JSON object.")
    return payload


def query_fields(query: Mapping[str, str], names: Collection[str]) -> Fields:
    """
    Return the fields of a query string, refusing one given twice.

    :param query: the query's parameters (a multidict: a name may repeat).
    :param names: the parameters the endpoint takes.
    """
    values: dict[str, str] = {}
    for name, value in query.items():
        if name in values:
            raise Refused(f"{name} is given twice; give it once (separate ids with commas).")
        values[name] = value
    return Fields(values, names, from_query=True)


class Fields:
    """
    A request's parameters, read one by one: each reader returns the value checked, or ``None`` if omitted.

    :param values: name -> the JSON value (or, from a query string, the text).
    :param names: the parameters the endpoint takes.
    :param from_query: whether the values are texts from a query string (numbers as digits).
    """

    def __init__(
        self, values: Mapping[str, Any], names: Collection[str], *, from_query: bool = False
    ) -> None:
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise Refused(f"Unknown field {unknown[0]!r}; this endpoint takes {sorted(names)}.")
        self._values = {name: value for name, value in values.items() if value is not None}
        self._from_query = from_query

    @staticmethod
    def _required(name: str, value: _T | None) -> _T:
        if value is None:
            raise Refused(f"{name} is required.")
        return value

    def _whole_number(self, name: str, value: Any) -> int:
        if self._from_query and isinstance(value, str) and value.isascii() and value.isdigit():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise Refused(f"{name} must be a whole number, got {value!r}.")
        return value

    def optional_integer(self, name: str, bounds: Bounds) -> int | None:
        """Return a whole number within ``bounds``, or ``None`` if omitted."""
        value = self._values.get(name)
        if value is None:
            return None
        number = self._whole_number(name, value)
        if not bounds.low <= number <= bounds.high:
            raise Refused(f"{name} must be from {bounds.low} to {bounds.high}, got {number}.")
        return number

    def integer(self, name: str, bounds: Bounds) -> int:
        """Return a whole number within ``bounds``: its default if omitted, required if it has none."""
        number = self.optional_integer(name, bounds)
        return self._required(name, bounds.default) if number is None else number

    def text(self, name: str, length: Bounds, *, forbidden: str = "", blank: bool = False) -> str | None:
        """
        Return a text of ``length`` characters without any of ``forbidden``, or ``None`` if omitted.

        :param blank: whether spaces only are accepted (the API refuses them in names).
        """
        value = self._values.get(name)
        if value is None:
            return None
        if not isinstance(value, str):
            raise Refused(f"{name} must be a text, got {value!r}.")
        if value and not value.strip() and not blank:
            raise Refused(f"{name} must not be blank, got {value!r}.")
        if not length.low <= len(value) <= length.high:
            raise Refused(f"{name} must be {length.low} to {length.high} characters long, got {len(value)}.")
        bad = sorted(set(forbidden) & set(value))
        if bad:
            raise Refused(f"{name} must not contain {' '.join(bad)}, got {value!r}.")
        return value

    def required_text(self, name: str, length: Bounds) -> str:
        """Return a required text of ``length`` characters, not blank."""
        return self._required(name, self.text(name, length))

    def choice(self, name: str, choices: Collection[str]) -> str | None:
        """Return one of ``choices``, or ``None`` if omitted."""
        value = self._values.get(name)
        if value is not None and value not in choices:
            raise Refused(f"{name} must be one of {list(choices)}, got {value!r}.")
        return value

    def ids(self, name: str, count: Bounds) -> list[int] | None:
        """Return a list of ``count`` whole numbers (in a query string: separated by commas), or ``None``."""
        value = self._values.get(name)
        if value is None:
            return None
        if self._from_query and isinstance(value, str):
            value = value.split(",") if value else []
        if not isinstance(value, list):
            raise Refused(f"{name} must be a list of ids, got {value!r}.")
        ids = [self._whole_number(f"Each of {name}", item) for item in value]
        if not count.low <= len(ids) <= count.high:
            raise Refused(f"{name} must hold {count.low} to {count.high} ids, got {len(ids)}.")
        return ids

    def required_ids(self, name: str, count: Bounds) -> list[int]:
        """Return a required list of ``count`` whole numbers."""
        return self._required(name, self.ids(name, count))

    def thumbnails(self, name: str, count: Bounds) -> list[tuple[str, bool]]:
        """Return a required list of ``count`` ``{"thumbnailKey", "isPrimaryThumbnail"}`` as pairs."""
        value = self._required(name, self._values.get(name))
        if not isinstance(value, list):
            raise Refused(f"{name} must be a list of {{thumbnailKey, isPrimaryThumbnail}}, got {value!r}.")
        if not count.low <= len(value) <= count.high:
            raise Refused(f"{name} must hold {count.low} to {count.high} thumbnails, got {len(value)}.")
        thumbnails = []
        for number, item in enumerate(value):
            where = f"{name}[{number}]"
            if not isinstance(item, dict):
                raise Refused(
                    f"{where} must be an object {{thumbnailKey, isPrimaryThumbnail}}, got {item!r}."
                )
            Fields(item, ("thumbnailKey", "isPrimaryThumbnail"))  # refuses unknown fields
            key, primary = item.get("thumbnailKey"), item.get("isPrimaryThumbnail")
            if not isinstance(key, str) or not key.strip():
                raise Refused(f"{where}.thumbnailKey must be a thumbnail key, got {key!r}.")
            if not isinstance(primary, bool):
                raise Refused(f"{where}.isPrimaryThumbnail must be true or false, got {primary!r}.")
            thumbnails.append((key, primary))
        return thumbnails
