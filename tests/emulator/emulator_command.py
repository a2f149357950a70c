"""Running ``python -m airflow_provider_mi.emulator`` in a child process, for the command-line tests."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import pytest

TIMEOUT = 10


@dataclass
class EmulatorCommand:
    """The running command: its process, and the lines it printed so far, one by one."""

    process: subprocess.Popen[str]
    _lines: queue.Queue[str]
    _stderr: IO[str]

    def next_line(self, timeout: float = 30) -> str:
        """The next line the emulator printed (the first may take a while: Python starts)."""
        try:
            return self._lines.get(timeout=timeout)
        except queue.Empty:
            self._stderr.seek(0)
            pytest.fail(f"the emulator printed nothing more; stderr: {self._stderr.read()!r}")

    def stop(self) -> int:
        """Send SIGTERM, as a terminal's Ctrl-C or a supervisor would; return the exit code."""
        self.process.terminate()
        return self.process.wait(timeout=TIMEOUT)


@contextmanager
def emulator_command(*args: str) -> Iterator[EmulatorCommand]:
    """Run the emulator's command line with ``args``; kill it at the end if it still runs."""
    with tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "airflow_provider_mi.emulator", *args],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        lines: queue.Queue[str] = queue.Queue()
        stdout = process.stdout
        assert stdout is not None

        def pump() -> None:
            for line in stdout:
                lines.put(line)

        threading.Thread(target=pump, daemon=True).start()
        try:
            yield EmulatorCommand(process, lines, stderr)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=TIMEOUT)
            stdout.close()
