"""
The real Airflow web UI and a headless Chromium for the browser tests (a plain module, no fixtures).

:func:`airflow_ui_server` starts the UI of the installed Airflow on 127.0.0.1 in a throw-away
``AIRFLOW_HOME``, open to everyone as an admin: ``airflow api-server`` with SimpleAuthManager's
``all_admins`` on Airflow 3, ``airflow webserver`` with ``AUTH_ROLE_PUBLIC = "Admin"`` on 2.11.
:func:`ensure_chromium` finds Debian's Chromium, installing it with ``scripts/install_servers.sh``
when it is missing. Nothing here imports Airflow.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from airflow_cli import AIRFLOW_TEST_ENV, migrate_db

REPO = Path(__file__).resolve().parents[2]
INSTALL_SERVERS = REPO / "scripts" / "install_servers.sh"
CHROMIUM = Path("/usr/bin/chromium")
#: Chromium's flags for this machine: no sandbox as root, and no calls home (the network is closed).
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: Seconds the UI server may take to answer its health check.
SERVER_START_TIMEOUT = 90.0


def _chromium_runs(path: Path) -> bool:
    try:
        process = subprocess.run(
            [str(path), "--version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return process.returncode == 0 and "Chromium" in process.stdout


def ensure_chromium() -> tuple[Path | None, str]:
    """
    Return Debian's Chromium, installed by ``scripts/install_servers.sh`` if missing.

    Return ``(path, "")``, or ``(None, reason)`` when no browser can be had here.
    """
    if _chromium_runs(CHROMIUM):
        return CHROMIUM, ""
    try:
        process = subprocess.run(
            ["bash", str(INSTALL_SERVERS), "chromium"],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        said = (process.stdout + process.stderr).strip()
    except subprocess.TimeoutExpired:
        said = "scripts/install_servers.sh took more than 900 s"
    if _chromium_runs(CHROMIUM):
        return CHROMIUM, ""
    return None, f"no browser: {CHROMIUM} is missing and could not be installed ({said or 'no output'})"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class UiServer:
    """
    A running Airflow UI.

    :param url: its base URL, e.g. ``http://127.0.0.1:41234``.
    :param home: its AIRFLOW_HOME.
    :param major: the Airflow major version serving it (2 or 3).
    :param log: the file holding the server's output.
    """

    url: str
    home: Path
    major: int
    log: Path

    @property
    def env(self) -> dict[str, str]:
        """The environment of an Airflow command acting on this server's metadata database."""
        return server_env(self.home, self.major)

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the server printed."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def server_env(home: Path, major: int) -> dict[str, str]:
    """The configuration of a UI server (and of commands on its database) in ``home``."""
    env = {
        **AIRFLOW_TEST_ENV,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
        # gunicorn (2.11) keeps a control socket under $HOME: keep it in the throw-away home.
        "HOME": str(home),
    }
    if major >= 3:
        # No login page: every visitor is an admin (SimpleAuthManager, the default auth manager).
        env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] = "True"
    return env


def _wait_until_healthy(
    process: subprocess.Popen[bytes], url: str, log: Path, timeout: float = SERVER_START_TIMEOUT
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The Airflow UI server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(
        f"The Airflow UI server did not answer {url} within {timeout:.0f} s:\n{log.read_text()}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server's whole process group: SIGTERM, then SIGKILL after 15 s."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def airflow_ui_server(major: int, extra_env: Mapping[str, str] | None = None) -> Iterator[UiServer]:
    """
    Run the installed Airflow's web UI on 127.0.0.1 for the duration of the ``with`` block.

    The server gets a fresh AIRFLOW_HOME (its metadata database migrated first), runs in its own
    process group, which is killed on exit, and the home is removed.

    :param major: the installed Airflow's major version: 3 starts ``airflow api-server``, 2
        starts ``airflow webserver``.
    :param extra_env: variables to add to the server's environment.
    """
    home = Path(tempfile.mkdtemp(prefix="mi-ui-home-"))
    try:
        (home / "dags").mkdir()
        env = {**server_env(home, major), **(extra_env or {})}
        port = free_port()
        if major >= 3:
            command = ["api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
            health = "/api/v2/monitor/health"
        else:
            (home / "webserver_config.py").write_text('AUTH_ROLE_PUBLIC = "Admin"\n')
            command = ["webserver", "--hostname", "127.0.0.1", "--port", str(port), "--workers", "1"]
            health = "/health"
        migrate_db(env, timeout=180)
        log = home / "server.log"
        url = f"http://127.0.0.1:{port}"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "airflow", *command],
                env={**os.environ, **env},
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_until_healthy(process, url + health, log)
            yield UiServer(url=url, home=home, major=major, log=log)
        finally:
            _stop(process)
    finally:
        shutil.rmtree(home, ignore_errors=True)
