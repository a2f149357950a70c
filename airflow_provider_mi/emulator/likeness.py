"""
The emulator's stand-in for face matching (compare and similar): a perceptual hash, NOT face recognition.

An image's "face" is the 64-bit difference hash (dHash) of its decoded pixels: EXIF orientation
applied, converted to greyscale, shrunk to 9x8 pixels by area averaging, then one bit per pair of
horizontal neighbours (is the left one brighter?). The score of two images is
``round(100 * (1 - hamming_distance / 64))``: 100 for the same picture, about 50 for unrelated ones.
Resized, recompressed or slightly cropped copies of a picture keep their hash within a few bits;
:mod:`.faces` draws test "people" whose pictures are far apart under it. The score says nothing about
real faces: two photos of one real person taken apart score as unrelated pictures do.

Pillow is imported when an image is hashed, as :mod:`.judge` does.
"""

from __future__ import annotations

import io

from airflow_provider_mi.emulator.judge import require_pillow

#: The hash's grid: 9 columns give 8 neighbour pairs per row, 8 rows, 64 bits.
_COLUMNS, _ROWS = 9, 8
HASH_BITS = (_COLUMNS - 1) * _ROWS


def face_hash(data: bytes) -> int:
    """
    Return the 64-bit difference hash of an image: the emulator's "face" of it.

    :param data: a JPEG, PNG or WebP file's bytes (one that upload completion accepts).
    """
    image_module = require_pillow()
    from PIL import ImageOps

    with image_module.open(io.BytesIO(data)) as image:
        grey = ImageOps.exif_transpose(image).convert("L")
    small = grey.resize((_COLUMNS, _ROWS), image_module.Resampling.BOX)
    pixels = small.tobytes()  # one byte per pixel, row by row
    bits = 0
    for row in range(_ROWS):
        for column in range(_COLUMNS - 1):
            left = pixels[row * _COLUMNS + column]
            bits = (bits << 1) | (left > pixels[row * _COLUMNS + column + 1])
    return bits


def likeness(first: int, second: int) -> int:
    """
    Return the score of two hashes from 0 to 100: ``round(100 * (1 - differing bits / 64))``.

    :param first: a :func:`face_hash`.
    :param second: another.
    """
    return round(100 * (1 - bin(first ^ second).count("1") / HASH_BITS))
