"""The made-up people of ``faces`` and the face-matching stand-in of ``likeness``."""

from __future__ import annotations

import io
import itertools

import pytest
from PIL import Image

from airflow_provider_mi.emulator.faces import face_image
from airflow_provider_mi.emulator.judge import judge_thumbnail
from airflow_provider_mi.emulator.likeness import face_hash, likeness

SEEDS = range(10)


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_different_people_score_under_80_pairwise():
    hashes = {seed: face_hash(face_image(seed)) for seed in SEEDS}
    scores = {(a, b): likeness(hashes[a], hashes[b]) for a, b in itertools.combinations(SEEDS, 2)}
    assert max(scores.values()) < 80, scores


@pytest.mark.parametrize("seed", SEEDS)
def test_every_picture_of_one_person_scores_90_or_more_against_the_others(seed):
    hashes = [face_hash(face_image(seed, variant)) for variant in range(6)]
    scores = [likeness(a, b) for a, b in itertools.combinations(hashes, 2)]
    assert min(scores) >= 90, scores


@pytest.mark.parametrize(
    "change",
    [
        lambda image: jpeg(image.resize((300, 300))),
        lambda image: jpeg(image, quality=70),
        lambda image: jpeg(image.crop((20, 20, image.width - 20, image.height - 20))),  # 4 % per side
        lambda image: jpeg(image.crop((0, 0, image.width - 25, image.height))),  # 5 % off one side
    ],
    ids=["resized", "quality-70", "cropped", "cropped-one-side"],
)
@pytest.mark.parametrize("seed", [0, 7])
def test_a_resized_recompressed_or_cropped_copy_scores_90_or_more(seed, change):
    original = face_image(seed)
    assert likeness(face_hash(original), face_hash(change(opened(original)))) >= 90


def test_exif_orientation_is_applied_before_hashing():
    upright = opened(face_image(3))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to view
    stored_sideways = upright.transpose(Image.Transpose.ROTATE_90)
    buffer = io.BytesIO()
    stored_sideways.save(buffer, format="JPEG", quality=90, exif=exif)
    assert likeness(face_hash(face_image(3)), face_hash(buffer.getvalue())) >= 90
    assert likeness(face_hash(face_image(3)), face_hash(jpeg(stored_sideways))) < 80


def test_the_score_counts_differing_bits():
    assert likeness(0, 0) == 100
    assert likeness(0, 2**64 - 1) == 0
    assert likeness(0b111, 0) == round(100 * (1 - 3 / 64)) == 95


def test_pictures_are_stable_valid_thumbnails():
    assert face_image(4, 2) == face_image(4, 2)
    assert face_image(4, 2) != face_image(4, 3)
    for size in (256, 512):
        data = face_image(5, 1, size=size)
        assert judge_thumbnail(data) is None
        assert opened(data).format == "JPEG"
        assert opened(data).size == (size, size)
    with pytest.raises(ValueError, match="size must be a positive number of pixels"):
        face_image(1, size=0)


def test_the_shipped_sample_set_matches_within_each_person_and_not_across():
    from pathlib import Path

    from airflow_provider_mi.emulator.likeness import face_hash, likeness

    root = Path(__file__).parents[2] / "example_dags" / "assets" / "faces"
    hashes = {path: face_hash(path.read_bytes()) for path in root.glob("*/*.jpg")}
    assert len({path.parent for path in hashes}) == 3 and len(hashes) >= 6
    for first, first_hash in hashes.items():
        for second, second_hash in hashes.items():
            score = likeness(first_hash, second_hash)
            assert score >= 90 if first.parent == second.parent else score < 80, (first, second, score)
