"""What the API accepts as a person thumbnail: jpg, png or webp, at most 5 MB, at least 256 px."""

from __future__ import annotations

import io
from dataclasses import dataclass

import imagesize

from airflow_provider_mi.core.models import UploadFailureReason

MAX_IMAGE_BYTES = 5 * 1024 * 1024
MIN_IMAGE_SIDE = 256

#: File signatures of the accepted formats: (offset, magic bytes) each.
_SIGNATURES: dict[str, tuple[tuple[int, bytes], ...]] = {
    "jpeg": ((0, b"\xff\xd8\xff"),),
    "png": ((0, b"\x89PNG\r\n\x1a\n"),),
    "webp": ((0, b"RIFF"), (8, b"WEBP")),
}
#: The emulator's reason for a format the API does not take (the API documents none).
UNSUPPORTED_FORMAT_REASON = "FILE_FORMAT_NOT_SUPPORT"


@dataclass(frozen=True)
class ImageCheck:
    """
    What one image is, and why the API would refuse it (``problem`` is ``None`` if it accepts it).

    :param size: bytes.
    :param image_format: ``jpeg``, ``png``, ``webp``, or ``None`` for anything else.
    :param width: pixels, or ``None`` if unreadable.
    :param height: pixels, or ``None`` if unreadable.
    :param problem: the failure reason the API would give, or ``None``.
    :param explanation: a sentence saying what is wrong and what to do.
    """

    size: int
    image_format: str | None
    width: int | None
    height: int | None
    problem: str | None = None
    explanation: str | None = None


def sniff_format(data: bytes) -> str | None:
    """Return ``jpeg``, ``png`` or ``webp`` judged by the content, or ``None``."""
    for name, marks in _SIGNATURES.items():
        if all(data[offset : offset + len(magic)] == magic for offset, magic in marks):
            return name
    return None


def check_image(data: bytes) -> ImageCheck:
    """
    Judge ``data`` by the API's documented constraints, in the order the API reports them.

    :param data: the image file's bytes.
    """
    size, image_format = len(data), sniff_format(data)
    if size > MAX_IMAGE_BYTES:
        return ImageCheck(
            size,
            image_format,
            None,
            None,
            UploadFailureReason.OVER_SIZE_LIMIT.value,
            f"the image is {size} bytes; the API takes at most {MAX_IMAGE_BYTES} bytes (5 MB). Shrink it.",
        )
    if image_format is None:
        return ImageCheck(
            size,
            None,
            None,
            None,
            UNSUPPORTED_FORMAT_REASON,
            "the content is not a JPEG, PNG or WebP image. Convert it to one of these formats.",
        )
    width, height = imagesize.get(io.BytesIO(data))
    if width <= 0 or height <= 0:
        return ImageCheck(
            size,
            image_format,
            None,
            None,
            UNSUPPORTED_FORMAT_REASON,
            f"the {image_format} image is corrupt: its dimensions cannot be read.",
        )
    if min(width, height) < MIN_IMAGE_SIDE:
        return ImageCheck(
            size,
            image_format,
            width,
            height,
            UploadFailureReason.RESOLUTION_NOT_SUPPORT.value,
            f"the image is {width}x{height} px; the API needs at least {MIN_IMAGE_SIDE} px on each side.",
        )
    return ImageCheck(size, image_format, width, height)
