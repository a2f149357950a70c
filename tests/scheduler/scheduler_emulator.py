"""The emulator as the real-scheduler tests use it: answers recorded per key, and a valid image."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass, field

from PIL import Image

from airflow_provider_mi.emulator import EmulatorState


@dataclass
class AnswerRecordingState(EmulatorState):
    """The emulator's state, also noting for each completion check whether it found the thumbnail."""

    answers: list[tuple[str, bool]] = field(default_factory=list)
    _answers_lock: threading.Lock = field(default_factory=threading.Lock)

    def visible_thumbnail(self, workspace: str, thumbnail_key: str) -> bytes | None:
        data = super().visible_thumbnail(workspace, thumbnail_key)
        with self._answers_lock:
            self.answers.append((thumbnail_key, data is not None))
        return data

    def answers_for(self, thumbnail_key: str) -> list[bool]:
        """For each completion check of the key so far: whether it found it (answered COMPLETED)."""
        with self._answers_lock:
            return [found for key, found in self.answers if key == thumbnail_key]


def png(color: tuple[int, int, int] = (90, 120, 160)) -> bytes:
    """A 256 x 256 PNG of one ``color``: the smallest image the API (and the emulator) accepts."""
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), color).save(buffer, "PNG")
    return buffer.getvalue()
