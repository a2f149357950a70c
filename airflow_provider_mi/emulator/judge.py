"""
How the emulator judges an uploaded thumbnail: by decoding it with Pillow, as the API would.

The rules, in the order the verdict reports them:

1. Size: more than 5 MB, counted as 5 * 1024 * 1024 = 5,242,880 bytes, is ``OVER_SIZE_LIMIT``
   (exactly 5,242,880 bytes is accepted). Judged on the bytes alone, before decoding.
2. Format: the decoded content's, never the file name's (a PNG named ``face.jpg`` is a PNG).
   JPEG (CMYK and progressive ones too), PNG and WebP are accepted, animated WebP and PNG
   included (the API documents no rule against animation); anything else is
   ``FILE_FORMAT_NOT_SUPPORT``.
3. Integrity: every frame must decode completely with Pillow's default
   ``ImageFile.LOAD_TRUNCATED_IMAGES = False``; a corrupt or truncated file is
   ``FILE_FORMAT_NOT_SUPPORT``. (A process that turns that flag on makes the judge lenient.)
4. Resolution: the decoded size (an animation's canvas); a side under 256 px is
   ``RESOLUTION_NOT_SUPPORT``. EXIF orientation is not applied: it can only swap width and
   height, which leaves the shorter side as it is.

Pillow is imported only here, when an image is judged (it is the ``emulator`` extra's, not the
client's, dependency); :func:`require_pillow` says how to install it.
"""

from __future__ import annotations

import io
from types import ModuleType

from airflow_provider_mi.emulator.rules import (
    FILE_FORMAT_NOT_SUPPORT,
    MAX_IMAGE_BYTES,
    MIN_IMAGE_SIDE,
    OVER_SIZE_LIMIT,
    RESOLUTION_NOT_SUPPORT,
)

#: Pillow's names of the accepted formats; Pillow opens a JPEG carrying more pictures (MPO, as
#: many cameras write) as a JPEG too, its first picture being the image.
_ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")


def require_pillow() -> ModuleType:
    """Return Pillow's ``PIL.Image`` module, or raise an error that says how to install Pillow."""
    try:
        from PIL import Image
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(
            "The Media Intelligence emulator decodes uploaded images with Pillow, which is not "
            'installed. Install the emulator\'s dependencies: pip install "airflow-provider-mi[emulator]"',
            name="PIL",
        ) from err
    return Image


def judge_thumbnail(data: bytes) -> str | None:
    """
    Return the reason completion refuses ``data`` with, or ``None`` if the API takes it.

    :param data: the uploaded file's bytes.
    """
    if len(data) > MAX_IMAGE_BYTES:
        return OVER_SIZE_LIMIT
    image_module = require_pillow()
    try:
        with image_module.open(io.BytesIO(data), formats=_ACCEPTED_FORMATS) as image:
            for frame in range(getattr(image, "n_frames", 1)):
                image.seek(frame)
                image.load()
            width, height = image.size
    # Pillow reports a file it cannot read in many ways (OSError, SyntaxError, ValueError,
    # struct.error, DecompressionBombError...): each means the API could not use it either.
    except Exception:
        return FILE_FORMAT_NOT_SUPPORT
    if min(width, height) < MIN_IMAGE_SIDE:
        return RESOLUTION_NOT_SUPPORT
    return None
