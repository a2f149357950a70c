"""
A real Airflow 3 deployment for the tests: API server, dag-processor, scheduler and triggerers.

Each component is ``python -m airflow <command>`` in its own session (so its own process
group), with its output in ``<home>/component-logs/``; a second triggerer is ``triggerer-2``. The
components share one temporary ``AIRFLOW_HOME`` (sqlite database, LocalExecutor) and reach the
emulator through the connection given in ``env``. Every process started here is killed by
:meth:`AirflowCluster.close` (with the whole tree it spawned: Airflow puts each task and the
trigger runner in process groups of their own), and every wait is bounded.

Plain module, no fixtures and no Airflow import: ``conftest.py`` wraps it.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import psutil

from airflow_cli import run_airflow

T = TypeVar("T")

#: The components, in the order they are started (more triggerers come after the first).
COMPONENTS = ("api-server", "dag-processor", "scheduler", "triggerer")


def component_commands(triggerers: int = 1) -> dict[str, str]:
    """Each component's name and ``airflow`` command; the triggerers are ``triggerer``, ``triggerer-2``..."""
    commands = {name: name for name in COMPONENTS}
    commands.update({f"triggerer-{number}": "triggerer" for number in range(2, triggerers + 1)})
    return commands


def tuned_config(api_port: int, dags_folder: Path, parallelism: int) -> dict[str, str]:
    """
    Return the ``AIRFLOW__*`` variables of the deployment, tuned for quick runs on two cores.

    Measured with the 200 mapped deferred sensors on two cores shared with other jobs:

    - ``[workers] min_heartbeat_interval`` (5 s) is what slowed the runs most: a task's supervisor
      often noticed its task had ended only at its next wake-up, up to 5 s later, holding the
      LocalExecutor slot meanwhile. All 200 sensors took 128 to 163 s to defer; with 1 s, 32 to
      70 s.
    - ``[core] parallelism``: 2 was about twice as slow as 4; 8 was not clearly faster than 4.
      The work is CPU-bound: 110 to 140 CPU-seconds in all (400 task runs, most of it; the API
      server, 24; the triggerer, 12 to 30).
    - The rest trims latency: the scheduler's idle sleep; the triggerer's heartbeat and health
      threshold (a killed triggerer's triggers are adopted once its heartbeat is older than the
      threshold, 30 s by default); no re-parsing of the DAG file, which does not change.
    """
    return {
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(parallelism),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        # Tasks (run by the LocalExecutor's workers) talk to the API server's execution API.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        # The log servers of the scheduler and the triggerer, on ports nobody else uses.
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.2",
        "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
        "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
        # The DAG files are there before the dag-processor starts, and never change.
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "600",
        "AIRFLOW__DAG_PROCESSOR__PARSING_PROCESSES": "1",
        "AIRFLOW__DAG_PROCESSOR__PRINT_STATS_INTERVAL": "0",
    }


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.25) -> T:
    """
    Call ``condition`` until it returns something truthy, and return that.

    :raises TimeoutError: naming ``what`` if ``timeout`` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"Timed out after {timeout:.0f} s waiting for {what}.")
        time.sleep(interval)


@dataclass
class Component:
    """One running ``airflow <name>`` process and the output file it writes."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def tree(self) -> list[psutil.Process]:
        """The process and everything it spawned (children may be in process groups of their own)."""
        try:
            root = psutil.Process(self.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def kill(self, sig: int = signal.SIGKILL, grace: float = 30.0) -> None:
        """
        Stop the process: ``sig`` to it, then SIGKILL to its group and its whole tree.

        With SIGKILL everything dies at once, as when a machine or a container is lost. With
        another signal (e.g. SIGTERM) only the main process gets it first, and has ``grace``
        seconds to shut down as Airflow does (its LocalExecutor ends its workers itself);
        whatever is left of the tree after that is killed.
        """
        tree = self.tree()
        if sig != signal.SIGKILL and self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace)
        if self.process.returncode is None:  # not reaped yet, so its group id is still its own
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
        for proc in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()  # psutil checks it is still the same process (no pid reuse)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        psutil.wait_procs(tree, timeout=10)
        self.log_file.close()

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class AirflowCluster:
    """
    A deployment of real Airflow 3 processes over one temporary ``AIRFLOW_HOME``.

    :param home: the ``AIRFLOW_HOME`` (made and migrated by :meth:`migrate`).
    :param env: the full environment of every Airflow process.
    :param api_port: the API server's port on 127.0.0.1.
    :param commands: the components, by name, and their ``airflow`` commands, in starting order.
    """

    home: Path
    env: dict[str, str]
    api_port: int
    commands: dict[str, str] = field(default_factory=component_commands)
    components: dict[str, Component] = field(default_factory=dict)
    #: Every process ever started, killed again (no-op if dead) by :meth:`close`.
    started: list[Component] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        home: Path,
        dags_folder: Path,
        extra_env: Mapping[str, str],
        parallelism: int,
        triggerers: int = 1,
    ) -> AirflowCluster:
        api_port = free_port()
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(home),
            "COLUMNS": "200",
            "PYTHONUNBUFFERED": "1",
            **tuned_config(api_port, dags_folder, parallelism),
            **extra_env,
        }
        return cls(home=home, env=env, api_port=api_port, commands=component_commands(triggerers))

    @property
    def db_path(self) -> Path:
        return self.home / "airflow.db"

    # -- processes ------------------------------------------------------------------------------

    def cli(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Run ``airflow *args`` (own session, killed after ``timeout``); raise if it fails."""
        try:
            process = run_airflow(args, self.env, timeout)
        except subprocess.TimeoutExpired as err:
            raise AssertionError(
                f"airflow {' '.join(args)} took over {timeout} s:\n{err.stdout}\n{err.stderr}"
            ) from None
        if process.returncode != 0:
            output = f"{process.stdout}\n{process.stderr}"
            raise AssertionError(f"airflow {' '.join(args)} failed (exit {process.returncode}):\n{output}")
        return process

    def migrate(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        self.cli("db", "migrate", timeout=300)

    def start(self, name: str) -> Component:
        """Start component ``name`` in its own session (replacing a previous, stopped one)."""
        args = [self.commands[name]]
        if args[0] == "api-server":
            args += ["--host", "127.0.0.1", "--port", str(self.api_port), "--apps", "execution"]
        log_dir = self.home / "component-logs"
        log_dir.mkdir(exist_ok=True)
        count = sum(1 for component in self.started if component.name == name)
        log_path = log_dir / f"{name}-{count + 1}.log"
        log_file = log_path.open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "airflow", *args],
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        component = Component(name, process, log_path, log_file)
        self.components[name] = component
        self.started.append(component)
        return component

    def stop(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Stop a component (see :meth:`Component.kill`)."""
        self.components.pop(name).kill(sig)

    def start_all(self, timeout: float = 90.0) -> None:
        for name in self.commands:
            self.start(name)
        self.wait(self.api_healthy, timeout, "the API server's execution API to answer")

    def close(self) -> None:
        """Kill every process started here, its tree, and any other process of this ``AIRFLOW_HOME``."""
        for component in reversed(self.started):
            component.kill(signal.SIGKILL)
        self.components.clear()
        for proc in self.leftovers():
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.kill()

    def leftovers(self) -> list[psutil.Process]:
        """
        Live processes whose environment has this deployment's ``AIRFLOW_HOME``.

        The home is a fresh temporary directory, so these are processes started here or by them
        (e.g. a task runner orphaned when its supervisor was killed).
        """
        found = []
        for proc in psutil.process_iter():
            with contextlib.suppress(psutil.Error):
                home = proc.environ().get("AIRFLOW_HOME")
                if home == str(self.home) and proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc)
        return found

    def api_healthy(self) -> bool:
        self.check_running()
        try:
            url = f"http://127.0.0.1:{self.api_port}/execution/health"
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def check_running(self) -> None:
        """Raise if a component that should be running has exited."""
        for name, component in self.components.items():
            if not component.alive():
                raise AssertionError(
                    f"airflow {name} exited with {component.process.returncode}:\n{component.log_tail()}"
                )

    def diagnostics(self) -> str:
        """The tail of each running component's output, for a failure message."""
        parts = [f"--- {c.name} ({c.log_path.name}) ---\n{c.log_tail(25)}" for c in self.components.values()]
        return "\n".join(parts)

    def wait(self, condition: Callable[[], T], timeout: float, what: str, interval: float = 0.25) -> T:
        """:func:`wait_until`, also failing at once if a component died, with diagnostics on failure."""

        def check() -> T:
            self.check_running()
            return condition()

        try:
            return wait_until(check, timeout, what, interval)
        except TimeoutError as err:
            raise AssertionError(f"{err}\n{self.diagnostics()}") from None

    # -- DAGs and runs --------------------------------------------------------------------------

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """Read the metadata database (read-only; waits while Airflow holds a write lock)."""
        if not self.db_path.exists():
            return []
        with closing(sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)) as db:
            return db.execute(sql, tuple(params)).fetchall()

    def parsed_dags(self) -> set[str]:
        rows = self.query("SELECT dag_id FROM serialized_dag")
        return {row[0] for row in rows}

    def unpause(self, dag_id_pattern: str) -> None:
        """Unpause the DAGs whose id matches the regular expression."""
        self.cli("dags", "unpause", "--treat-dag-id-as-regex", "--yes", dag_id_pattern)

    def trigger(self, dag_id: str, run_id: str, conf: Mapping[str, Any] | None = None) -> None:
        """Start a run of ``dag_id`` (unpaused) with ``run_id``."""
        args = ["dags", "trigger", dag_id, "--run-id", run_id]
        if conf is not None:
            args += ["--conf", json.dumps(conf)]
        self.cli(*args)

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        rows = self.query("SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", (dag_id, run_id))
        return rows[0][0] if rows else None

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of the run, as dicts of some of their columns."""
        columns = ("task_id", "map_index", "state", "try_number", "next_method", "trigger_id")
        rows = self.query(
            f"SELECT {', '.join(columns)} FROM task_instance WHERE dag_id = ? AND run_id = ?",
            (dag_id, run_id),
        )
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        states = [ti["state"] for ti in self.task_instances(dag_id, run_id) if ti["task_id"] == task_id]
        return states[0] if states else None

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        """Wait until the run is finished; return its state."""
        return self.wait(
            lambda: (state := self.run_state(dag_id, run_id)) in ("success", "failed") and state,
            timeout,
            f"run {run_id} of {dag_id} to finish",
            interval=0.5,
        )


@contextlib.contextmanager
def running_deployment(
    home: Path,
    dags_folder: Path,
    env: Mapping[str, str],
    dag_ids: Iterable[str],
    *,
    parallelism: int,
    triggerers: int = 1,
    local_settings: Path | None = None,
) -> Iterator[AirflowCluster]:
    """
    Run a deployment over ``home`` until the block ends: migrated, every component started, the
    DAGs ``dag_ids`` parsed and every ``mi_sched_`` DAG unpaused. Then kill it all, and fail if
    any of its processes survived.

    :param env: the variables given to every Airflow process besides the tuned configuration.
    :param local_settings: an ``airflow_local_settings.py`` for ``<home>/config``, which every
        Airflow process imports when it starts.
    """
    deployment = AirflowCluster.create(home, dags_folder, env, parallelism, triggerers)
    atexit.register(deployment.close)  # also if pytest is interrupted before the block ends
    try:
        if local_settings is not None:
            (home / "config").mkdir(parents=True, exist_ok=True)
            shutil.copy(local_settings, home / "config" / "airflow_local_settings.py")
        deployment.migrate()
        deployment.start_all()
        wanted = set(dag_ids)
        deployment.wait(
            lambda: wanted <= deployment.parsed_dags(), 120, f"the dag-processor to parse {sorted(wanted)}"
        )
        deployment.unpause("^mi_sched_")
        yield deployment
    finally:
        deployment.close()
        atexit.unregister(deployment.close)
        survivors = deployment.leftovers()
        assert not survivors, f"processes of the deployment still running: {survivors}"
