"""What the API accepts as a thumbnail, judged on images generated in memory with Pillow."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from airflow_provider_mi.core.images import (
    MAX_IMAGE_BYTES,
    MIN_IMAGE_SIDE,
    UNSUPPORTED_FORMAT_REASON,
    check_image,
    sniff_format,
)


def make_image(image_format: str, width: int = 300, height: int = 300) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (180, 40, 90)).save(buffer, format=image_format)
    return buffer.getvalue()


@pytest.mark.parametrize(("pil_format", "name"), [("JPEG", "jpeg"), ("PNG", "png"), ("WEBP", "webp")])
def test_300px_images_are_accepted(pil_format, name):
    data = make_image(pil_format)
    check = check_image(data)
    assert (check.size, check.image_format, check.width, check.height) == (len(data), name, 300, 300)
    assert check.problem is None and check.explanation is None
    assert sniff_format(data) == name


@pytest.mark.parametrize("pil_format", ["JPEG", "PNG", "WEBP"])
def test_minimum_side_is_inclusive(pil_format):
    assert check_image(make_image(pil_format, MIN_IMAGE_SIDE, MIN_IMAGE_SIDE)).problem is None


@pytest.mark.parametrize(("width", "height"), [(255, 400), (400, 255), (10, 10)])
@pytest.mark.parametrize("pil_format", ["JPEG", "PNG", "WEBP"])
def test_too_small_is_resolution_not_support(pil_format, width, height):
    check = check_image(make_image(pil_format, width, height))
    assert check.problem == "RESOLUTION_NOT_SUPPORT"
    assert (check.width, check.height) == (width, height)
    assert f"{width}x{height} px" in (check.explanation or "")
    assert "at least 256 px" in (check.explanation or "")


def test_over_5_mb_is_over_size_limit():
    png = make_image("PNG")
    data = png + b"\0" * (MAX_IMAGE_BYTES + 1 - len(png))
    check = check_image(data)
    assert check.size == MAX_IMAGE_BYTES + 1
    assert check.problem == "OVER_SIZE_LIMIT"
    assert check.image_format == "png"
    assert "at most 5242880 bytes (5 MB)" in (check.explanation or "")


def test_exactly_5_mb_is_accepted():
    png = make_image("PNG")
    data = png + b"\0" * (MAX_IMAGE_BYTES - len(png))
    check = check_image(data)
    assert check.size == MAX_IMAGE_BYTES
    assert check.problem is None


def test_size_is_checked_before_format():
    assert check_image(b"x" * (MAX_IMAGE_BYTES + 1)).problem == "OVER_SIZE_LIMIT"


@pytest.mark.parametrize(
    "data",
    [
        make_image("GIF"),
        make_image("BMP"),
        b"",
        b"hello, I am not an image",
        b"RIFF\x00\x00\x00\x00WAVEfmt ",  # RIFF but not WebP
        b"\x89PNX\r\n\x1a\n" + b"\0" * 40,
    ],
    ids=["gif", "bmp", "empty", "text", "riff-wave", "almost-png"],
)
def test_unsupported_formats(data):
    check = check_image(data)
    assert check.problem == UNSUPPORTED_FORMAT_REASON == "FILE_FORMAT_NOT_SUPPORT"
    assert check.image_format is None
    assert "not a JPEG, PNG or WebP" in (check.explanation or "")


@pytest.mark.parametrize(("pil_format", "name"), [("JPEG", "jpeg"), ("PNG", "png"), ("WEBP", "webp")])
def test_truncated_header_is_a_problem(pil_format, name):
    data = make_image(pil_format)
    truncated = data[:20]
    check = check_image(truncated)
    assert check.image_format == name
    assert check.problem is not None
    assert check.width is None and check.height is None
    assert "corrupt" in (check.explanation or "")


@pytest.mark.parametrize("pil_format", ["JPEG", "PNG", "WEBP"])
def test_every_prefix_of_an_image_is_judged_without_raising(pil_format):
    data = make_image(pil_format)
    verdicts = [check_image(data[:size]) for size in range(len(data) + 1)]
    # a prefix either is unreadable (a problem) or has the right dimensions
    for check in verdicts:
        assert check.problem is not None or (check.width, check.height) == (300, 300)
    assert verdicts[-1].problem is None


@pytest.mark.parametrize(
    ("pil_format", "cut", "problem"),
    [
        ("JPEG", 2, "it ends before its end-of-image marker (the file is truncated)"),
        ("PNG", 100, "it ends inside its 'IDAT' chunk (the file is truncated)"),
        ("WEBP", 1, "its RIFF header announces"),
    ],
)
def test_a_truncated_image_is_refused_saying_so(pil_format, cut, problem):
    data = make_image(pil_format)
    check = check_image(data[:-cut])
    assert check.problem == UNSUPPORTED_FORMAT_REASON
    assert (check.width, check.height) == (None, None)
    assert problem in (check.explanation or "")
    assert (check.explanation or "").endswith("Export or download it again.")


@pytest.mark.parametrize("chunk", [b"VP8 ", b"VP8L", b"VP8X", b"ALPH"])
def test_a_webp_whose_only_chunk_is_empty_is_corrupt_not_an_error(chunk):
    # imagesize before 2.0 raised on these (struct.error, IndexError, ValueError): the floor is 2.0.
    check = check_image(b"RIFF\x0c\0\0\0WEBP" + chunk + b"\0\0\0\0")
    assert check.problem == UNSUPPORTED_FORMAT_REASON
    assert "corrupt" in (check.explanation or "")


def test_what_follows_the_end_marker_is_ignored():
    for pil_format in ("JPEG", "PNG", "WEBP"):
        assert check_image(make_image(pil_format) + b"trailing bytes").problem is None
