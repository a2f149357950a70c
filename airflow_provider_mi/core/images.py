"""
What the API accepts as a person thumbnail: jpg, png or webp, at most 5 MB, at least 256 px.

The check is cheap: it reads headers and the file's structure, never the pixels. Besides the
dimensions it refuses what a decoder cannot read: a JPEG must reach its end-of-image marker
through well-formed segments and a valid frame header, a PNG's header chunks must be intact and
its image data complete, a WebP's chunks must fit its RIFF container and the file.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
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

# JPEG markers: frame headers (SOF0-SOF15 but DHT, JPG and DAC), start of scan, end of image, and
# those without a length (TEM, RST0-RST7).
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_SOS, _JPEG_EOI = 0xDA, 0xD9
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
#: Bit depths each PNG colour type allows.
_PNG_DEPTHS = {0: {1, 2, 4, 8, 16}, 2: {8, 16}, 3: {1, 2, 4, 8}, 4: {8, 16}, 6: {8, 16}}


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


def _jpeg_frame_problem(segment: bytes) -> str | None:
    """Return what is wrong with a JPEG frame header (SOF) segment's body, or ``None``."""
    if len(segment) < 6:
        return "its frame header is cut short"
    precision, height, width, components = (
        segment[0],
        int.from_bytes(segment[1:3], "big"),
        int.from_bytes(segment[3:5], "big"),
        segment[5],
    )
    if precision != 8 or components not in (1, 3, 4) or len(segment) != 6 + 3 * components:
        return f"its frame header is invalid ({precision}-bit, {components} components)"
    if not (height and width):
        return f"its frame header gives the size {width}x{height}"
    for index in range(components):
        sampling, table = segment[7 + 3 * index], segment[8 + 3 * index]
        if not (1 <= sampling >> 4 <= 4 and 1 <= sampling & 15 <= 4 and table <= 3):
            return f"its frame header is invalid (component {index + 1})"
    return None


def _jpeg_scan_end(data: bytes, position: int) -> int:
    """Return where the marker after the compressed data starting at ``position`` is, or -1."""
    while (position := data.find(b"\xff", position)) != -1 and position + 1 < len(data):
        following = data[position + 1]
        if following == 0xFF:  # a fill byte before a marker
            position += 1
        elif following == 0 or following in _JPEG_STANDALONE:  # a stuffed 0xFF, or a restart marker
            position += 2
        else:
            return position
    return -1


def _jpeg_problem(data: bytes) -> str | None:
    """Walk a JPEG's segments from its start to its end-of-image marker."""
    position, has_frame, has_scan = 2, False, False
    while position + 2 <= len(data):
        if data[position] != 0xFF:  # decoders skip stray bytes between segments, to the next marker
            position = data.find(b"\xff", position)
            if position == -1:
                break
            continue
        marker = data[position + 1]
        if marker == 0xFF or marker in _JPEG_STANDALONE:
            position += 1 if marker == 0xFF else 2
            continue
        if marker == _JPEG_EOI:
            return None if has_scan else "it has no image data"
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        end = position + 2 + length
        if length < 2 or end > len(data):
            return "it ends inside a segment"
        if marker in _JPEG_FRAMES:
            problem = _jpeg_frame_problem(data[position + 4 : end])
            if problem:
                return problem
            has_frame = True
        position = end
        if marker == _JPEG_SOS:
            if not has_frame:
                return "its image data comes before its frame header"
            has_scan, position = True, _jpeg_scan_end(data, end)
            if position == -1:
                break
    return "it ends before its end-of-image marker (the file is truncated)"


def _png_header_problem(kind: bytes, body: bytes) -> str | None:
    """Return what is wrong with a PNG's first chunk, which must be a valid IHDR, or ``None``."""
    if kind != b"IHDR" or len(body) != 13:
        return "it does not begin with its IHDR header"
    depth, colour, compression, filtering, interlace = body[8:13]
    if depth not in _PNG_DEPTHS.get(colour, ()) or (compression, filtering) != (0, 0) or interlace > 1:
        return f"its IHDR header is invalid ({depth}-bit, colour type {colour})"
    return None


def _png_problem(data: bytes) -> str | None:
    """Walk a PNG's chunks: a valid header, intact chunks before the image data, complete image data."""
    position, has_data = 8, False
    while position + 8 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        end = position + 8 + length
        if kind == b"IEND" or (has_data and not kind.isalpha()):
            break  # the end, or something after the image data where a decoder stops reading
        if end > len(data):
            return f"it ends inside its {kind.decode('latin-1')!r} chunk (the file is truncated)"
        problem = _png_header_problem(kind, body) if position == 8 else None
        if problem:
            return problem
        if kind == b"IDAT":
            has_data = True
        # Decoders verify the checksums of the chunks before the image data, not of those after.
        elif not has_data and zlib.crc32(kind + body) != int.from_bytes(data[end : end + 4], "big"):
            return f"its {kind.decode('latin-1')!r} chunk is damaged (wrong checksum)"
        position = end + 4
    return None if has_data else "it has no image data"


def _webp_problem(data: bytes) -> str | None:
    """Check that a WebP's chunks fit its RIFF container, and the container fits the file."""
    end = 8 + int.from_bytes(data[4:8], "little")
    if end > len(data):
        return f"its RIFF header announces {end} bytes but the file has {len(data)} (it is truncated)"
    position = 12
    while position + 8 <= end:
        position += 8 + int.from_bytes(data[position + 4 : position + 8], "little")
        position += position % 2  # chunks are padded to an even length
    if position > end + 1 or position == 12:
        return "its chunks do not fit its RIFF container"
    return None


_STRUCTURE_PROBLEM: dict[str, Callable[[bytes], str | None]] = {
    "jpeg": _jpeg_problem,
    "png": _png_problem,
    "webp": _webp_problem,
}


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
    structure_problem = _STRUCTURE_PROBLEM[image_format](data)
    width, height = imagesize.get(io.BytesIO(data)) if structure_problem is None else (-1, -1)
    if width <= 0 or height <= 0:
        return ImageCheck(
            size,
            image_format,
            None,
            None,
            UNSUPPORTED_FORMAT_REASON,
            f"the {image_format} image is corrupt: {structure_problem or 'its dimensions cannot be read'}. "
            "Export or download it again.",
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
