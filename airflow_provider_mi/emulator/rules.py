"""
The API's rules as the emulator enforces them, written from NCP's documentation.

The client (``airflow_provider_mi.core``) keeps its own copy of each rule: the tests compare the
client's verdicts with the emulator's, so neither side may import the other's.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

#: The largest thumbnail accepted: 5 MB, counted as 5 * 1024 * 1024 = 5,242,880 bytes.
MAX_IMAGE_BYTES = 5 * 1024 * 1024
#: The shortest side a thumbnail may have, in pixels.
MIN_IMAGE_SIDE = 256
#: The gateway refuses a request whose timestamp is this many seconds or more from its clock.
CLOCK_SKEW_SECONDS = 300

#: The signature v2 headers.
TIMESTAMP_HEADER = "x-ncp-apigw-timestamp"
ACCESS_KEY_HEADER = "x-ncp-iam-access-key"
SIGNATURE_HEADER = "x-ncp-apigw-signature-v2"

#: Upload statuses and failure reasons that completion answers (``result.uploadStatus``/``uploadMessage``).
COMPLETED = "COMPLETED"
FAILED = "FAILED"
FILE_NOT_EXIST = "FILE_NOT_EXIST"
OVER_SIZE_LIMIT = "OVER_SIZE_LIMIT"
RESOLUTION_NOT_SUPPORT = "RESOLUTION_NOT_SUPPORT"
#: The emulator's own reason for a file that is no JPEG, PNG or WebP, or a corrupt or truncated
#: one: the API documents none.
FILE_FORMAT_NOT_SUPPORT = "FILE_FORMAT_NOT_SUPPORT"

_WORKSPACE_NAME_CHARACTERS = frozenset(string.ascii_lowercase + string.digits + "-")


def is_workspace_name(name: str) -> bool:
    """Whether ``name`` is a valid workspace name: 3 to 63 lowercase letters, digits and ``-``."""
    return 3 <= len(name) <= 63 and set(name) <= _WORKSPACE_NAME_CHARACTERS


# --- persons, their thumbnails and tags ---------------------------------------------------------


@dataclass(frozen=True)
class Bounds:
    """
    The whole numbers a parameter accepts, from ``low`` to ``high``, and its default when omitted.

    :param default: ``None`` for a parameter without one (required, or optional without a value).
    """

    low: int
    high: int
    default: int | None = None


#: Ids count up from these, unique across the emulator's workspaces (NCP documents no range).
FIRST_PERSON_ID = 1001
FIRST_THUMBNAIL_ID = 3001
FIRST_TAG_ID = 101
#: Lengths, in characters.
PERSON_NAME_LENGTH = Bounds(1, 50)
DESCRIPTION_LENGTH = Bounds(1, 700)
TAG_NAME_LENGTH = Bounds(1, 30)
#: The ``name`` filters of list and search: 2-50 characters, none of ``;``, ``|`` and backtick.
NAME_FILTER_LENGTH = Bounds(2, 50)
NAME_FILTER_FORBIDDEN = ";|`"
#: Thumbnails given on create, and a person's thumbnails in all.
THUMBNAILS_PER_PERSON = Bounds(1, 100)
#: A thumbnail key can be used this long after its upload.
THUMBNAIL_KEY_TTL_SECONDS = 24 * 3600
#: Compare and similar.
PERSON_COUNT = Bounds(1, 10, default=3)
SCORE_THRESHOLD = Bounds(80, 100, default=80)
#: Persons merged into one at a time.
MERGE_IDS = Bounds(1, 10)
#: ``pageNum`` (required) and the page sizes of list persons, search persons and list tags.
PAGE_NUM = Bounds(1, 2**31 - 1)
LIST_PERSONS_PAGE_SIZE = Bounds(1, 1000, default=1000)
SEARCH_PERSONS_PAGE_SIZE = Bounds(1, 50, default=10)
LIST_TAGS_PAGE_SIZE = Bounds(1, 50, default=10)
#: Tag ids in list persons' ``tagIdList``.
TAG_ID_FILTER = Bounds(1, 30)
#: Search's ``nameType``, ``sortColumn`` (default ``ASSET_COUNT``) and ``sortType`` (default ``DESC``).
NAME_TYPES = ("NAMED", "ANONYMOUS")
SORT_COLUMNS = ("ASSET_COUNT", "CREATED_AT", "PERSON_ID", "NAME")
SORT_TYPES = ("DESC", "ASC")
#: A thumbnail key's length (an Object Storage key's).
THUMBNAIL_KEY_LENGTH = Bounds(1, 1024)
#: Other lists of ids (``thumbnailIds``, ``tagIds``, search's ``personIds``): the API states no
#: limit, so the emulator's own is generous.
ID_LIST = Bounds(1, 1000)
#: An id given as a parameter (``primaryThumbnailId``, list tags' ``id``): any positive 64-bit number.
ANY_ID = Bounds(1, 2**63 - 1)
