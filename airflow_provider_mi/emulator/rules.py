"""
The API's rules as the emulator enforces them, written from NCP's documentation.

The client (``airflow_provider_mi.core``) keeps its own copy of each rule: the tests compare the
client's verdicts with the emulator's, so neither side may import the other's.
"""

from __future__ import annotations

import string

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
