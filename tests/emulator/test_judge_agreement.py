"""
The client's ``check_image`` and the emulator's own judge (Pillow) must give the same verdict.

Each file of the corpus, generated here with Pillow, goes through the emulator over real HTTP
(presigned URL, PUT, complete); its answer must be the expected one, and so must the client's.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable, Iterator

import pytest
import requests
from PIL import Image, ImageOps

from airflow_provider_mi.core import endpoints
from airflow_provider_mi.core.images import check_image
from airflow_provider_mi.emulator import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, MediaIntelligenceEmulator
from airflow_provider_mi.emulator.judge import judge_thumbnail
from airflow_provider_mi.emulator.rules import MAX_IMAGE_BYTES

TIMEOUT = 30
WORKSPACE = "judge-ws"
FORMAT = "FILE_FORMAT_NOT_SUPPORT"
RESOLUTION = "RESOLUTION_NOT_SUPPORT"
EXIF_ORIENTATION = 0x0112


def photo(pil_format: str, width: int = 300, height: int = 300, mode: str = "RGB", **options) -> bytes:
    """A photo-like image (noise: its compressed data is long, as a real photo's is)."""
    noise = Image.effect_noise((width, height), 40)
    bands = (
        noise,
        noise.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        noise.transpose(Image.Transpose.FLIP_TOP_BOTTOM),
    )
    buffer = io.BytesIO()
    Image.merge("RGB", bands).convert(mode).save(buffer, format=pil_format, **options)
    return buffer.getvalue()


def exif_rotated(width: int, height: int) -> bytes:
    """A JPEG stored ``width`` x ``height`` whose EXIF orientation 6 shows it turned a quarter."""
    exif = Image.Exif()
    exif[EXIF_ORIENTATION] = 6
    return photo("JPEG", width, height, exif=exif.tobytes())


def animated_webp() -> bytes:
    frames = [Image.new("RGB", (300, 300), (60 * index, 90, 160)) for index in range(3)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="WEBP", save_all=True, append_images=frames[1:], duration=100)
    return buffer.getvalue()


def padded_to(data: bytes, size: int) -> bytes:
    """``data`` followed by zero bytes up to ``size`` (after a PNG's IEND, where decoders stop)."""
    return data + b"\0" * (size - len(data))


def with_stray_bytes(data: bytes) -> bytes:
    """``data`` with junk after its first quantisation table (DQT): decoders skip it to the next marker."""
    start = data.index(b"\xff\xdb")
    end = start + 2 + int.from_bytes(data[start + 2 : start + 4], "big")
    return data[:end] + b"junk" + data[end:]


def with_jpeg_frame(data: bytes, offset: int, value: bytes) -> bytes:
    """``data`` with ``value`` written at ``offset`` in its frame header (SOF0)'s body."""
    start = data.index(b"\xff\xc0") + 4 + offset
    return data[:start] + value + data[start + len(value) :]


def with_png_header(data: bytes, body: bytes, crc_flip: int = 0) -> bytes:
    """``data`` with another IHDR body and (``crc_flip`` aside) its correct checksum."""
    crc = zlib.crc32(b"IHDR" + body) ^ crc_flip
    return data[:8] + struct.pack(">I", 13) + b"IHDR" + body + struct.pack(">I", crc) + data[33:]


def half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def webp_with_riff_size(data: bytes, riff_size: int) -> bytes:
    return data[:4] + struct.pack("<I", riff_size) + data[8:]


def png_header(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    return struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)


def corpus() -> dict[str, tuple[Callable[[], bytes], str, str | None]]:
    """Case name -> (how to make the file, the file name announced, the expected reason)."""
    jpeg, png, webp = (lambda: photo("JPEG")), (lambda: photo("PNG")), (lambda: photo("WEBP"))
    return {
        "jpeg": (jpeg, "face.jpg", None),
        "png-named-jpg": (png, "face.jpg", None),
        "cmyk-jpeg": (lambda: photo("JPEG", mode="CMYK"), "face.jpg", None),
        "progressive-jpeg": (lambda: photo("JPEG", progressive=True), "face.jpg", None),
        "animated-webp": (animated_webp, "face.webp", None),
        "exif-rotated-400x300": (lambda: exif_rotated(400, 300), "face.jpg", None),
        "exif-rotated-400x255": (lambda: exif_rotated(400, 255), "face.jpg", RESOLUTION),
        "small-255x300-png": (lambda: photo("PNG", 255, 300), "face.png", RESOLUTION),
        "exactly-5-mb": (lambda: padded_to(photo("PNG"), MAX_IMAGE_BYTES), "face.png", None),
        "just-over-5-mb": (
            lambda: padded_to(photo("PNG"), MAX_IMAGE_BYTES + 1),
            "face.png",
            "OVER_SIZE_LIMIT",
        ),
        "gif": (lambda: photo("GIF"), "face.gif", FORMAT),
        "garbage-after-jpeg-signature": (
            lambda: b"\xff\xd8\xff" + bytes(range(256)) * 40,
            "face.jpg",
            FORMAT,
        ),
        "jpeg-stray-bytes-between-segments": (lambda: with_stray_bytes(jpeg()), "face.jpg", None),
        "truncated-jpeg": (lambda: half(jpeg()), "face.jpg", FORMAT),
        "jpeg-without-eoi": (lambda: jpeg()[:-2], "face.jpg", FORMAT),
        "truncated-progressive-jpeg": (lambda: photo("JPEG", progressive=True)[:-400], "face.jpg", FORMAT),
        "truncated-small-jpeg": (lambda: photo("JPEG", 100, 100)[:-100], "face.jpg", FORMAT),
        "jpeg-sof-12-bit": (lambda: with_jpeg_frame(jpeg(), 0, b"\x0c"), "face.jpg", FORMAT),
        "jpeg-sof-height-0": (lambda: with_jpeg_frame(jpeg(), 1, b"\0\0"), "face.jpg", FORMAT),
        "jpeg-sof-2-components": (lambda: with_jpeg_frame(jpeg(), 5, b"\x02"), "face.jpg", FORMAT),
        "jpeg-sof-sampling-0": (lambda: with_jpeg_frame(jpeg(), 7, b"\x00"), "face.jpg", FORMAT),
        "truncated-png": (lambda: half(png()), "face.png", FORMAT),
        "png-without-iend": (lambda: png()[:-12], "face.png", None),
        "png-ihdr-checksum": (lambda: with_png_header(png(), png_header(300, 300), 1), "face.png", FORMAT),
        "png-ihdr-3-bit-rgb": (lambda: with_png_header(png(), png_header(300, 300, 3)), "face.png", FORMAT),
        "truncated-webp": (lambda: webp()[:-1], "face.webp", FORMAT),
        "truncated-animated-webp": (lambda: animated_webp()[:-20], "face.webp", FORMAT),
        "webp-empty-vp8-chunk": (lambda: b"RIFF\x0c\0\0\0WEBPVP8 \0\0\0\0", "face.webp", FORMAT),
        "webp-empty-vp8x-chunk": (lambda: b"RIFF\x0c\0\0\0WEBPVP8X\0\0\0\0", "face.webp", FORMAT),
        "webp-chunk-beyond-riff": (lambda: webp_with_riff_size(webp(), 4 + 8), "face.webp", FORMAT),
    }


CORPUS = corpus()


@pytest.fixture(scope="module")
def emulator() -> Iterator[MediaIntelligenceEmulator]:
    with MediaIntelligenceEmulator() as running:
        yield running


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # never through a proxy: 127.0.0.1 only
        yield session


def api_call(http: requests.Session, base_url: str, request: endpoints.ApiRequest) -> dict:
    headers = request.headers(DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)
    response = http.request(
        request.method, request.url(base_url), data=request.body, headers=headers, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    return response.json()["result"]


def emulator_verdict(
    http: requests.Session, emulator: MediaIntelligenceEmulator, name: str, data: bytes
) -> dict:
    """Upload ``data`` as ``name`` through the emulator and return its completion result."""
    upload = api_call(http, emulator.url, endpoints.presigned_url_request(WORKSPACE, name))
    assert http.put(upload["url"], data=data, timeout=TIMEOUT).status_code == 200
    return api_call(http, emulator.url, endpoints.complete_upload_request(WORKSPACE, upload["thumbnailKey"]))


@pytest.mark.parametrize("case", list(CORPUS))
def test_the_client_agrees_with_the_emulators_judge(http, emulator, case):
    make, file_name, reason = CORPUS[case]
    data = make()
    result = emulator_verdict(http, emulator, file_name, data)
    assert result == {"uploadStatus": "FAILED" if reason else "COMPLETED", "uploadMessage": reason}
    check = check_image(data)
    assert check.problem == reason, check.explanation
    if reason == FORMAT and check.image_format:
        assert "corrupt" in (check.explanation or "")


def _last_image_data_end(png: bytes) -> int:
    """Where the data of a PNG's last IDAT chunk ends."""
    position, end = 8, 0
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        if png[position + 4 : position + 8] == b"IDAT":
            end = position + 8 + length
        position += 12 + length
    return end


@pytest.mark.parametrize(
    "make",
    [
        lambda: photo("JPEG", 64, 64),
        lambda: photo("JPEG", 64, 64, progressive=True),
        lambda: photo("JPEG", 64, 64, mode="CMYK"),
        lambda: photo("PNG", 48, 48),
        lambda: photo("WEBP", 64, 64),
        lambda: photo("WEBP", 48, 48, lossless=True),
    ],
    ids=["jpeg", "progressive-jpeg", "cmyk-jpeg", "png", "webp", "lossless-webp"],
)
def test_the_client_agrees_with_the_judge_on_every_prefix(make):
    data = make()
    # The one known difference: a PNG cut within the last bytes of its compressed data (the zlib
    # checksum and the end of the last block) still decodes, but only inflating it could tell.
    end = _last_image_data_end(data) if data.startswith(b"\x89PNG") else 0
    verdicts = (
        (cut, check_image(data[:cut]).problem, judge_thumbnail(data[:cut])) for cut in range(len(data) + 1)
    )
    disagreements = [
        verdict for verdict in verdicts if verdict[1] != verdict[2] and not end - 8 <= verdict[0] < end
    ]
    assert disagreements == []


def test_the_corpus_is_what_its_names_say():
    def opened(case: str) -> Image.Image:
        return Image.open(io.BytesIO(CORPUS[case][0]()))

    assert opened("png-named-jpg").format == "PNG"
    assert opened("cmyk-jpeg").mode == "CMYK"
    assert opened("progressive-jpeg").info.get("progressive")
    assert opened("animated-webp").n_frames == 3
    rotated = opened("exif-rotated-400x300")
    assert (rotated.size, rotated.getexif()[EXIF_ORIENTATION]) == ((400, 300), 6)
    assert ImageOps.exif_transpose(rotated).size == (300, 400)
    assert len(CORPUS["just-over-5-mb"][0]()) == 5 * 1024 * 1024 + 1
