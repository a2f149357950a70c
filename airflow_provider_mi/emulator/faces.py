"""
Deterministic pictures of made-up "people", for tests, sample sets and demos of compare and similar.

``face_image(person_seed, variant)`` returns a JPEG of person ``person_seed``: a cartoon face over a
background of soft bands whose brightness pattern is that person's own. Variant 0 is the person's
reference picture; every other variant is another "photo" of the same person: the picture shifted
and zoomed by a few percent, brighter or darker, recompressed. Under the emulator's stand-in for
face matching (:mod:`.likeness`) the variants of one person score 90 or more against each other
and pictures of different people under 80 (the tests check seeds 0 to 9 pairwise). The output for
given arguments is stable: changing it is a breaking change for the sample sets built from it.

Pillow is imported when a picture is drawn, as :mod:`.judge` does.
"""

from __future__ import annotations

import io
import random
from typing import TYPE_CHECKING

from airflow_provider_mi.emulator.judge import require_pillow

if TYPE_CHECKING:
    from PIL.Image import Image

#: Brightness steps between neighbouring background cells: large enough that the stand-in's hash
#: (which compares neighbours on a 9x8 grid) keeps every bit through small shifts and recompression.
_STEP = 40
#: The background's grey levels stay within these, so that brightening or darkening never clips them.
_LOWEST, _HIGHEST = 16, 239
_COLUMNS, _ROWS = 9, 8
#: Largest shift and zoom of a variant, as fractions of the side: well under half a grid cell (1/9).
_MAX_SHIFT = 0.03
_MAX_ZOOM = 0.03


def _background_levels(rng: random.Random) -> list[list[int]]:
    """Per row, 9 grey levels that rise or fall by ``_STEP`` at random from one cell to the next."""
    levels = []
    for _ in range(_ROWS):
        row = [rng.randint(_LOWEST, _HIGHEST)]
        for _ in range(_COLUMNS - 1):
            step = rng.choice((-_STEP, _STEP))
            if not _LOWEST <= row[-1] + step <= _HIGHEST:
                step = -step  # turn back at the edge of the range
            row.append(row[-1] + step)
        levels.append(row)
    return levels


def _canvas(person_seed: int, size: int) -> Image:
    """
    Draw person ``person_seed``: a canvas one background cell wider on each side than the picture.

    The reference picture is the canvas's centre, ``size`` pixels square, whose cells line up with
    the hash's grid; the ring around it (the edge cells repeated) is what a shifted variant shows.
    """
    image_module = require_pillow()
    from PIL import ImageDraw, ImageFilter, ImageOps

    rng = random.Random(f"mi-emulator-face-{person_seed}")
    rows = [[row[0], *row, row[-1]] for row in _background_levels(rng)]
    rows = [rows[0], *rows, rows[-1]]
    grid = image_module.new("L", (_COLUMNS + 2, _ROWS + 2))
    grid.putdata([level for row in rows for level in row])
    cell_width, cell_height = size / _COLUMNS, size / _ROWS
    canvas_size = (round(size + 2 * cell_width), round(size + 2 * cell_height))
    # Sharp cells, softened by a blur much narrower than a cell: the levels the hash compares stay.
    grey = grid.resize(canvas_size, image_module.Resampling.NEAREST).filter(
        ImageFilter.GaussianBlur(size / 60)
    )
    dark = tuple(rng.randint(0, 60) for _ in range(3))
    light = tuple(rng.randint(170, 230) for _ in range(3))
    picture = ImageOps.colorize(grey, black=dark, white=light)
    # The face is drawn in thin lines only: filled shapes would cover the background's pattern, and
    # every person's face would then look alike to the hash.
    draw = ImageDraw.Draw(picture)
    width = max(1, size // 150)
    colour = tuple(rng.randint(0, 255) for _ in range(3))
    cx = cell_width + size * rng.uniform(0.45, 0.55)
    cy = cell_height + size * rng.uniform(0.45, 0.55)
    rx, ry = size * rng.uniform(0.22, 0.3), size * rng.uniform(0.28, 0.36)
    draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), outline=colour, width=width)
    eye, eye_y = size * rng.uniform(0.03, 0.05), cy - ry * 0.3
    for eye_x in (cx - rx * 0.4, cx + rx * 0.4):
        draw.ellipse((eye_x - eye, eye_y - eye, eye_x + eye, eye_y + eye), outline=colour, width=width)
    draw.arc(
        (cx - rx * 0.45, cy + ry * 0.2, cx + rx * 0.45, cy + ry * 0.6), 20, 160, fill=colour, width=width
    )
    return picture


def face_image(person_seed: int, variant: int = 0, size: int = 512) -> bytes:
    """
    Return a JPEG picture of made-up person ``person_seed``: the same arguments give the same bytes.

    :param person_seed: which person (any integer); different seeds are different people.
    :param variant: which picture of that person: 0 is the reference one, others are small changes
        of it (shifted up to 3 % of the side, zoomed in up to 3 %, brightness within 10 %, JPEG
        quality 70 to 95; variant 0 has quality 90).
    :param size: the side of the square picture in pixels; 256 or more to be a valid thumbnail.
    """
    image_module = require_pillow()
    from PIL import ImageEnhance

    if size < 1:
        raise ValueError(f"size must be a positive number of pixels, got {size}")
    picture = _canvas(person_seed, size)
    left, top = size / _COLUMNS, size / _ROWS
    box = (left, top, left + size, top + size)
    brightness, quality = 1.0, 90
    if variant:
        rng = random.Random(f"mi-emulator-face-{person_seed}-variant-{variant}")
        dx, dy = (rng.uniform(-_MAX_SHIFT, _MAX_SHIFT) * size for _ in range(2))
        inset = size * rng.uniform(0, _MAX_ZOOM) / 2
        box = (box[0] + dx + inset, box[1] + dy + inset, box[2] + dx - inset, box[3] + dy - inset)
        brightness, quality = rng.uniform(0.9, 1.1), rng.randint(70, 95)
    picture = picture.resize((size, size), image_module.Resampling.BICUBIC, box=box)
    picture = ImageEnhance.Brightness(picture).enhance(brightness)
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
