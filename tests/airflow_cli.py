"""
Running real Airflow in subprocesses for the tests: the CLI, ``airflow dags test``, a session home.

A plain module (no fixtures): ``tests/conftest.py`` wraps it in thin fixtures, and tests may import
it directly. Nothing here imports Airflow at module level, so importing it never reads
``AIRFLOW_HOME`` early.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Set by ``scripts/test`` to the fresh AIRFLOW_HOME of the environment under test.
AIRFLOW_HOME_MARKER = "MI_TEST_AIRFLOW_HOME"

#: Configuration every Airflow process of the tests runs with (besides AIRFLOW_HOME).
AIRFLOW_TEST_ENV: dict[str, str] = {
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
    # Airflow 2.11 itself warns on every command while this is off; the tests look for warnings
    # caused by the provider, so silence Airflow's own (it only changes metrics' units).
    "AIRFLOW__METRICS__TIMER_UNIT_CONSISTENCY": "True",
}

#: Seconds one Airflow command may take before it is killed and the test fails.
DEFAULT_TIMEOUT = 120.0

_DAGRUN_FINISHED = re.compile(r"DagRun Finished: dag_id=(?P<dag_id>[^,\s]+),.*?\bstate=(?P<state>\w+)")


def prepare_airflow_env() -> tuple[Path, bool]:
    """
    Point this process's Airflow at the test home. Call it before Airflow is imported.

    The home is the one ``scripts/test`` made (``MI_TEST_AIRFLOW_HOME``), else a new temporary
    directory: a developer's own ``AIRFLOW_HOME`` is never used. Return the home and whether it
    was created here (then the caller removes it when done).
    """
    home = os.environ.get(AIRFLOW_HOME_MARKER)
    created = not home
    if not home:
        home = tempfile.mkdtemp(prefix="mi-airflow-home-")
    if "airflow" in sys.modules and os.environ.get("AIRFLOW_HOME") != home:
        raise RuntimeError(
            "Airflow was imported before the tests could point AIRFLOW_HOME at the test home "
            f"({home}); a pytest plugin or an earlier import loaded it. Run the tests with scripts/test."
        )
    os.environ[AIRFLOW_HOME_MARKER] = home
    os.environ["AIRFLOW_HOME"] = home
    os.environ.update(AIRFLOW_TEST_ENV)
    return Path(home), created


def airflow_major_version() -> int:
    """Return the major version of the Airflow installed in this environment (2 or 3)."""
    import airflow

    return int(airflow.__version__.split(".")[0])


def run_process(
    command: Sequence[str],
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """
    Run ``command`` and return the finished process, its stdout and stderr captured as text.

    The command inherits this process's environment (so a connection that a fixture put in
    ``os.environ`` reaches it), overlaid with ``env``. It runs in its own session, and the whole
    session is killed if it is still running after ``timeout`` seconds (then
    :class:`subprocess.TimeoutExpired` is raised, with the output so far).

    :param command: the program and its arguments.
    :param env: variables to add or override.
    :param timeout: seconds before the command is killed.
    """
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    with subprocess.Popen(
        list(command),
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            raise subprocess.TimeoutExpired(list(command), timeout, stdout, stderr) from None
    return subprocess.CompletedProcess(list(command), process.returncode, stdout, stderr)


def run_airflow(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """
    Run ``python -m airflow *args`` with this interpreter (see :func:`run_process`).

    :param args: the arguments after ``airflow``, e.g. ``["providers", "list"]``.
    :param env: variables to add or override.
    :param timeout: seconds before the command is killed.
    """
    return run_process([sys.executable, "-m", "airflow", *args], env, timeout)


def run_python(
    code: str, env: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run ``python -c code`` with this interpreter (see :func:`run_process`)."""
    return run_process([sys.executable, "-c", code], env, timeout)


def migrate_db(env: Mapping[str, str] | None = None, timeout: float = 300.0) -> None:
    """Run ``airflow db migrate``; raise :class:`RuntimeError` with its output if it fails."""
    process = run_airflow(["db", "migrate"], env, timeout)
    if process.returncode != 0:
        raise RuntimeError(
            f"airflow db migrate failed (exit {process.returncode}):\n{process.stdout}\n{process.stderr}"
        )


@dataclass(frozen=True)
class DagTestResult:
    """
    The outcome of one ``airflow dags test``.

    :param process: the finished command.
    :param state: the final state from the "DagRun Finished ... state=" line, or ``None``.
    """

    process: subprocess.CompletedProcess[str]
    state: str | None

    @property
    def output(self) -> str:
        """Everything the command printed, stdout then stderr."""
        return f"{self.process.stdout}\n{self.process.stderr}"

    @property
    def succeeded(self) -> bool:
        """
        Whether the run succeeded: exit code 0 *and* a final state of ``success``.

        Airflow 3.3.2 and 2.11.2 both exit non-zero on a failed run (checked by
        ``tests/integration/test_dag_runs.py``); the "DagRun Finished" line is read as well, so that
        a run counts as a success only when Airflow says so both ways.
        """
        return self.process.returncode == 0 and self.state == "success"


def final_dag_run_state(output: str, dag_id: str) -> str | None:
    """Return the state of the last "DagRun Finished" line of ``dag_id`` in ``output``, or ``None``."""
    states = [match["state"] for match in _DAGRUN_FINISHED.finditer(output) if match["dag_id"] == dag_id]
    return states[-1] if states else None


def run_dag(
    dag_file_dir: str | os.PathLike[str],
    dag_id: str,
    env: Mapping[str, str] | None = None,
    conf: Mapping[str, Any] | None = None,
    timeout: float = 180.0,
) -> DagTestResult:
    """
    Run one DAG with ``airflow dags test``, its DAG folder being ``dag_file_dir``.

    :param dag_file_dir: the folder holding the DAG file.
    :param dag_id: the DAG to run.
    :param env: variables to add or override (e.g. a connection).
    :param conf: the run's ``conf``, passed as JSON with ``-c``.
    :param timeout: seconds before the command is killed.
    """
    args = ["dags", "test", dag_id]
    if conf is not None:
        args += ["-c", json.dumps(conf)]
    folder_env = {"AIRFLOW__CORE__DAGS_FOLDER": str(Path(dag_file_dir).resolve()), **(env or {})}
    process = run_airflow(args, folder_env, timeout)
    return DagTestResult(process, final_dag_run_state(f"{process.stdout}\n{process.stderr}", dag_id))


def kill_dag_test_when(
    dag_file_dir: str | os.PathLike[str],
    dag_id: str,
    stop_now: Callable[[], bool],
    env: Mapping[str, str] | None = None,
    conf: Mapping[str, Any] | None = None,
    timeout: float = 120.0,
) -> None:
    """
    Start ``airflow dags test`` on one DAG and ``SIGKILL`` its whole session as soon as
    ``stop_now()`` is true: no clean-up runs, as when a worker's machine dies.

    :param dag_file_dir: the folder holding the DAG file.
    :param dag_id: the DAG to run.
    :param stop_now: polled every 50 ms, e.g. whether the emulator got enough requests.
    :param env: variables to add or override (e.g. a connection).
    :param conf: the run's ``conf``, passed as JSON with ``-c``.
    :param timeout: seconds ``stop_now()`` may take to come true; then the run is killed and this raises.
    :raises AssertionError: when the run ended, or ``timeout`` passed, before ``stop_now()`` was true.
    """
    command = [sys.executable, "-m", "airflow", "dags", "test", dag_id]
    if conf is not None:
        command += ["-c", json.dumps(conf)]
    folder_env = {"AIRFLOW__CORE__DAGS_FOLDER": str(Path(dag_file_dir).resolve()), **(env or {})}
    with subprocess.Popen(
        command,
        env={**os.environ, **folder_env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    ) as process:
        deadline = time.monotonic() + timeout
        try:
            while not stop_now():
                assert process.poll() is None, f"the run of {dag_id} ended before it could be stopped"
                assert time.monotonic() < deadline, f"the run of {dag_id} did not get there in {timeout:g} s"
                time.sleep(0.05)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
