"""
Validation of user-supplied values, done before any request is built.

Every error names the field, says what is wrong with the value and how to fix it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow_provider_mi.exceptions import InvalidParameterError

WORKSPACE_NAME_PATTERN = re.compile(r"[a-z0-9-]{3,63}")
#: Unicode's control characters (category Cc): C0, DEL and C1, in one regex (a lookup of
#: ``unicodedata.category`` per character cost a hook call about 15 us).
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: Object storage keys are at most 1024 bytes (UTF-8); a longer key cannot exist.
MAX_THUMBNAIL_KEY_BYTES = 1024
MAX_FILE_NAME_LENGTH = 255


def validate_choice(value: Any, field: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise naming them."""
    if value not in choices:
        raise InvalidParameterError(f"{field} is {value!r}; use one of {list(choices)}.")
    return value


def require_text(field: str, value: Any, example: str) -> str:
    """
    Return ``value`` if it is non-blank text without control characters, else raise.

    :param field: the field's name, for the error.
    :param value: the value.
    :param example: a valid value, shown in the error.
    """
    if not isinstance(value, str):
        raise InvalidParameterError(
            f"{field} must be a string, got {type(value).__name__} {value!r}. Pass text such as {example!r}."
        )
    if not value.strip():
        raise InvalidParameterError(f"{field} is empty. Pass a non-blank value such as {example!r}.")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise InvalidParameterError(
            f"{field} {value!r} is not valid Unicode text (it holds a lone surrogate). Pass text such as "
            f"{example!r}."
        ) from None
    bad = CONTROL_CHARACTER.search(value)
    if bad is not None:
        raise InvalidParameterError(
            f"{field} {value!r} contains the control character {bad.group()!r}. Remove it (templates "
            "often leave a trailing newline)."
        )
    return value


def validate_workspace_name(value: Any, field: str = "workspace_name") -> str:
    """
    Return ``value`` if it is a valid workspace name, else raise :class:`InvalidParameterError`.

    The rule is the API's: 3 to 63 characters, lowercase letters, digits and ``-``. Being this strict
    also guarantees that the name can never change the request path.

    :param value: the workspace name.
    :param field: the name of the field to report in the error.
    """
    example = "my-workspace"
    name = require_text(field, value, example)
    if WORKSPACE_NAME_PATTERN.fullmatch(name):
        return name
    if not 3 <= len(name) <= 63:
        problem = f"is {len(name)} characters long"
    else:
        bad = sorted({char for char in name if not re.fullmatch(r"[a-z0-9-]", char)})
        problem = "contains " + ", ".join(repr(char) for char in bad)
    raise InvalidParameterError(
        f"{field} {name!r} is not a valid workspace name: it {problem}. A workspace name has 3 to 63 "
        f"characters, only lowercase letters, digits and '-' (e.g. {example!r})."
    )


def validate_thumbnail_key(value: Any, field: str = "thumbnail_key") -> str:
    """
    Return ``value`` if it is a usable thumbnail key, else raise :class:`InvalidParameterError`.

    :param value: the key returned by the presigned-URL call, e.g. ``persons/thumbnails/face.jpg``.
    :param field: the name of the field to report in the error.
    """
    key = require_text(field, value, "persons/thumbnails/face.jpg")
    size = len(key.encode())
    if size > MAX_THUMBNAIL_KEY_BYTES:
        raise InvalidParameterError(
            f"{field} is {size} bytes long; a thumbnail key has at most {MAX_THUMBNAIL_KEY_BYTES} bytes. "
            "Pass the thumbnailKey returned when the presigned URL was issued."
        )
    return key


def validate_thumbnail_keys(value: Any, field: str = "thumbnail_keys") -> list[str]:
    """
    Return ``value`` as a list of usable thumbnail keys (at least one, no repeats), else raise.

    :param value: a list of keys, e.g. a bulk upload's ``waitingKeys``.
    :param field: the name of the field to report in the error.
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not value:
        raise InvalidParameterError(
            f"{field} must be a non-empty list of thumbnail keys, got {value!r}. E.g. "
            "['persons/thumbnails/face.jpg']."
        )
    keys = [validate_thumbnail_key(key, f"{field}[{number}]") for number, key in enumerate(value)]
    return list(dict.fromkeys(keys))


def validate_file_name(value: Any, field: str = "file_name") -> str:
    """
    Return ``value`` if it is a plain file name (no directory part), else raise.

    :param value: the file name announced when a presigned URL is requested, e.g. ``face.jpg``.
    :param field: the name of the field to report in the error.
    """
    name = require_text(field, value, "face.jpg")
    if "/" in name or "\\" in name or name in {".", ".."}:
        raise InvalidParameterError(
            f"{field} {name!r} is not a plain file name. Pass only the last part, e.g. 'face.jpg'."
        )
    if len(name) > MAX_FILE_NAME_LENGTH:
        raise InvalidParameterError(
            f"{field} is {len(name)} characters long; use at most {MAX_FILE_NAME_LENGTH} characters."
        )
    return name


def validate_poke_interval(value: Any, field: str = "poke_interval") -> float:
    """
    Return ``value`` as seconds between two checks, or raise: it must be a positive finite number.

    :param value: the interval, in seconds.
    :param field: the name the error gives the value.
    """
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < math.inf:
        raise InvalidParameterError(
            f"{field} must be a positive number of seconds, got {value!r}: a waiting task would call "
            f"the API without pause. E.g. {field}=30."
        )
    return float(seconds)


def validate_max_consecutive_errors(value: Any, field: str = "max_consecutive_errors") -> int | None:
    """
    Return ``value`` as a count of failed checks in a row (a whole number of 1 or more), or ``None``.

    :param value: the count, or ``None`` to wait through errors until the timeout.
    :param field: the name the error gives the value.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidParameterError(
            f"{field} must be a whole number of 1 or more, or None to wait through errors until the "
            f"timeout; got {value!r}. E.g. {field}=10."
        )
    return value
