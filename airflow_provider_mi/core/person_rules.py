"""
The person side's documented rules, checked before any request is built.

Each error names the field, says what is wrong with the value and how to fix it. The numbers are
the API's (see ``ncp-media-intelligence-persons.md``): a request that breaks one would only come
back refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from airflow_provider_mi.core.validation import require_text, validate_thumbnail_key
from airflow_provider_mi.exceptions import InvalidParameterError

MAX_NAME_LENGTH = 50
MAX_DESCRIPTION_LENGTH = 700
MAX_THUMBNAILS = 100
MAX_MERGED_PERSONS = 10
PERSON_COUNT_RANGE = (1, 10)
SCORE_THRESHOLD_RANGE = (80, 100)
MAX_TAG_NAME_LENGTH = 30
MAX_TAG_FILTER = 30
#: Name filters: 2 to 50 characters, none of these.
NAME_FILTER_FORBIDDEN = frozenset(";|`")
#: Page sizes by listing: (largest, default).
PAGE_SIZES = {"persons": (1000, 1000), "search": (50, 10), "tags": (50, 10)}
_ID_PATTERN = re.compile(r"[0-9A-Za-z_-]{1,64}")


def validate_id(value: Any, field: str) -> str:
    """
    Return a person, thumbnail or tag id as text; ids are whole numbers (older docs) or short strings.

    :param value: the id.
    :param field: the field's name, for the error.
    """
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not _ID_PATTERN.fullmatch(text):
        raise InvalidParameterError(
            f"{field} is {value!r}; give an id as the API returned it, e.g. 1001 or '1001'."
        )
    return text


def id_value(identifier: str) -> int | str:
    """The id as the API takes it in a body: a number when it is one (``Array[Integer]``)."""
    return int(identifier) if identifier.isdecimal() else identifier


def validate_ids(values: Any, field: str, *, maximum: int | None = None) -> list[str]:
    """
    Return a non-empty list of distinct ids, at most ``maximum``.

    :param values: the ids.
    :param field: the field's name, for the error.
    :param maximum: the most the API takes at once.
    """
    if isinstance(values, (str, int)) or not isinstance(values, Iterable):
        raise InvalidParameterError(f"{field} is {values!r}; give a list of ids, e.g. [1001, 1002].")
    ids = list(dict.fromkeys(validate_id(value, field) for value in values))
    if not ids:
        raise InvalidParameterError(f"{field} is empty; give at least one id.")
    if maximum is not None and len(ids) > maximum:
        raise InvalidParameterError(f"{field} has {len(ids)} ids; the API takes at most {maximum} at once.")
    return ids


def _bounded_text(value: Any, field: str, example: str, maximum: int, what: str) -> str:
    """Return non-blank text of at most ``maximum`` characters, else raise naming ``what`` it is."""
    text = require_text(field, value, example)
    if len(text) > maximum:
        raise InvalidParameterError(f"{field} is {len(text)} characters long; {what} has at most {maximum}.")
    return text


def id_values(values: Any, field: str, *, maximum: int | None = None) -> list[int | str]:
    """Return :func:`validate_ids`' ids as the API takes them in a body (numbers where they are)."""
    return [id_value(identifier) for identifier in validate_ids(values, field, maximum=maximum)]


def validate_person_name(value: Any, field: str = "name") -> str:
    """Return a person's name: 1 to 50 characters, not blank (names are unique in a workspace)."""
    return _bounded_text(value, field, "Hong Gildong", MAX_NAME_LENGTH, "a person's name")


def validate_description(value: Any, field: str = "description") -> str:
    """Return a description: 1 to 700 characters."""
    return _bounded_text(value, field, "Host of the morning show", MAX_DESCRIPTION_LENGTH, "a description")


def thumbnails_body(keys: Any, primary: Any = None, *, field: str = "thumbnail_keys") -> list[dict[str, Any]]:
    """
    Return the ``thumbnails`` of a request: 1 to 100 distinct keys, exactly one of them primary.

    :param keys: the thumbnail keys.
    :param primary: the key to make the primary thumbnail; ``None`` makes the first one primary.
    :param field: the field's name, for the error.
    """
    if isinstance(keys, str) or not isinstance(keys, Iterable):
        raise InvalidParameterError(
            f"{field} is {keys!r}; give a list of uploaded thumbnail keys, e.g. ['persons/thumbnails/a.jpg']."
        )
    unique = list(dict.fromkeys(validate_thumbnail_key(key, field) for key in keys))
    if not unique:
        raise InvalidParameterError(f"{field} is empty; a person needs at least one thumbnail.")
    if len(unique) > MAX_THUMBNAILS:
        raise InvalidParameterError(
            f"{field} has {len(unique)} keys; a person has at most {MAX_THUMBNAILS} thumbnails."
        )
    chosen = unique[0] if primary is None else validate_thumbnail_key(primary, "primary_thumbnail_key")
    if chosen not in unique:
        raise InvalidParameterError(
            f"primary_thumbnail_key {chosen!r} is not among {field}; name one of them, or None for the first."
        )
    return [{"thumbnailKey": key, "isPrimaryThumbnail": key == chosen} for key in unique]


def validate_thumbnail_total(person_id: str, count: int) -> int:
    """Return how many thumbnails a person would have after a change: at most 100."""
    if count > MAX_THUMBNAILS:
        raise InvalidParameterError(
            f"person {person_id} would have {count} thumbnails; a person has at most {MAX_THUMBNAILS}."
        )
    return count


def validate_in_range(value: Any, field: str, bounds: tuple[int, int]) -> int:
    """Return a whole number within ``bounds`` (both included)."""
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidParameterError(f"{field} is {value!r}; it must be a whole number from {low} to {high}.")
    return value


def validate_page_size(value: Any, listing: str) -> int:
    """Return a page size the listing takes (see :data:`PAGE_SIZES`)."""
    return validate_in_range(value, "page_size", (1, PAGE_SIZES[listing][0]))


def validate_name_filter(value: Any, field: str = "name") -> str:
    """Return a name filter: 2 to 50 characters, without ``;``, ``|`` or a backtick."""
    text = require_text(field, value, "Hong")
    if not 2 <= len(text) <= MAX_NAME_LENGTH:
        raise InvalidParameterError(
            f"{field} filter {text!r} is {len(text)} characters long; use 2 to {MAX_NAME_LENGTH}."
        )
    if bad := sorted(NAME_FILTER_FORBIDDEN & set(text)):
        raise InvalidParameterError(
            f"{field} filter {text!r} contains {', '.join(map(repr, bad))}, which the API refuses; remove it."
        )
    return text


def validate_tag_name(value: Any, field: str = "name") -> str:
    """Return a tag's name: 1 to 30 characters (names are unique in a workspace)."""
    return _bounded_text(value, field, "anchor", MAX_TAG_NAME_LENGTH, "a tag's name")


def validate_merge(target: Any, merged: Sequence[Any]) -> tuple[str, list[str]]:
    """Return the target id and up to 10 other ids to merge into it (never the target itself)."""
    target_id = validate_id(target, "person_id")
    ids = validate_ids(merged, "merged_person_ids", maximum=MAX_MERGED_PERSONS)
    if target_id in ids:
        raise InvalidParameterError(
            f"merged_person_ids holds the target person {target_id} itself; list only the persons to "
            "merge into it."
        )
    return target_id, ids
