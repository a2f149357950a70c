"""Starting the suite's processes: servers to measure against, and measured clients."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from benchmarks import ROOT

SERVER_START_TIMEOUT = 60.0


class BenchmarkError(RuntimeError):
    """A process of the suite failed; the message carries the end of its output."""


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a child process: ours, the repository on the path, plus ``extra``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    env.update(extra or {})
    return env


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no output)"


@dataclass
class Server:
    """A running server process: its first output lines and the match of its ready line."""

    process: subprocess.Popen[str]
    lines: list[str]
    match: re.Match[str]


def _drain(stream: IO[str]) -> None:
    for _ in stream:
        pass


@contextmanager
def server(args: Sequence[str], ready: str, env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """
    Run ``python *args`` until the block ends; wait for a line of its output matching ``ready``.

    :param args: the interpreter's arguments, e.g. ``["-m", "benchmarks.minimal_server"]``.
    :param ready: a regular expression; the first line matching it means the server is up.
    """
    with tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False) as errors:
        error_path = Path(errors.name)
    with error_path.open("w") as errors_file:
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=child_env(env),
            stdout=subprocess.PIPE,
            stderr=errors_file,
            text=True,
        )
    try:
        lines: list[str] = []
        match = None
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        assert process.stdout is not None
        while match is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            match = re.search(ready, line)
        if match is None:
            raise BenchmarkError(f"{' '.join(args)} did not start:\n{_tail(error_path)}")
        threading.Thread(target=_drain, args=(process.stdout,), daemon=True).start()
        yield Server(process, lines, match)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        error_path.unlink(missing_ok=True)


def run_client(
    module: str, args: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 300.0
) -> dict[str, Any]:
    """
    Run ``python -m module --out FILE *args`` and return the JSON it wrote to FILE.

    The client's stdout and stderr (where Airflow may log) go to a file, shown if it fails, with
    the end of any other ``.log`` file it wrote beside ``FILE``.
    """
    with tempfile.TemporaryDirectory(prefix="mi-bench-") as tmp:
        out, log = Path(tmp) / "result.json", Path(tmp) / "client.log"
        with log.open("w") as log_file:
            try:
                completed = subprocess.run(
                    [sys.executable, "-m", module, "--out", str(out), *args],
                    cwd=ROOT,
                    env=child_env(env),
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    timeout=timeout,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise BenchmarkError(f"{module} took more than {timeout:g} s:\n{_tail(log)}") from None
        if completed.returncode != 0 or not out.exists():
            # A client logging as under Airflow writes its traceback to its own log beside --out.
            logs = [log, *sorted(path for path in Path(tmp).glob("*.log") if path != log)]
            tails = "\n".join(f"{path.name}:\n{_tail(path, 10)}" for path in logs)
            raise BenchmarkError(f"{module} failed (exit {completed.returncode}):\n{tails}")
        result: dict[str, Any] = json.loads(out.read_text())
        return result
