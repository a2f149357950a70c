"""Fixtures of the operator tests: a hook on the emulator, and uploads of made-up faces."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from airflow_provider_mi.emulator import MediaIntelligenceEmulator
from airflow_provider_mi.emulator.faces import face_image
from airflow_provider_mi.hooks.media_intelligence import MediaIntelligenceHook


@pytest.fixture
def hook(mi_emulator: MediaIntelligenceEmulator) -> Iterator[MediaIntelligenceHook]:
    hook = MediaIntelligenceHook()
    yield hook
    hook.close()


@pytest.fixture
def upload(hook: MediaIntelligenceHook) -> Callable[[str, int, int], str]:
    """``upload(workspace, person, variant)``: upload photo ``variant`` of face ``person``; its key."""

    def upload(workspace: str, person: int, variant: int) -> str:
        image = face_image(person, variant)
        return hook.upload_person_thumbnail(workspace, f"p{person}-{variant}.jpg", image).thumbnail_key

    return upload
