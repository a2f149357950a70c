"""
One API quota for a whole deployment: parallel tasks and two triggerers sharing it through Redis.

A real Airflow 3 deployment (API server, dag-processor, a scheduler whose LocalExecutor runs
:data:`PARALLELISM` tasks at once, two triggerers) runs one DAG run of mapped bulk uploads and
mapped deferred sensors at once against an emulator that answers 429 beyond :data:`CALLS`
completion calls per :data:`PERIOD` seconds. The connection sets the same limit, time-scaled as the
emulator's is (``deployment_config/airflow_local_settings.py``, imported by every Airflow
process), and shares it through a real ``redis-server``: the run succeeds without one 429,
although its tasks and triggers together ask for many times the limit. The same run through a
connection without Redis draws 429s: each task process and each triggerer then keeps the limit on
its own, and together they exceed it.

Each run: the sensors' keys exist but stay invisible, and so do the bulk uploads (the emulator's
visibility delay is an hour), so every task defers; while every trigger polls, the test waits for
:data:`HOLD_CALLS` more completion calls (the limit saturated for a few periods), then makes every
thumbnail visible, and every wait ends. Timing on two cores shared with other jobs: the
deployment starts in about 20 s, each run takes 40 to 55 s (half of it the tasks deferring): about
2 minutes in all. Each wait is bounded.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from mi_scheduler_keys import (
    BULK_FILES,
    BULK_UPLOADS,
    RATE_LIMIT_DAG,
    RATE_LIMITED_POKE_INTERVAL,
    RATE_LIMITED_SENSORS,
    WORKSPACE,
    rate_limited_sensor_key,
)
from scheduler_cluster import AirflowCluster, running_deployment
from scheduler_emulator import AnswerRecordingState, png

from airflow_provider_mi.core.rate_limit import COMPLETE_UPLOAD
from airflow_provider_mi.emulator import MediaIntelligenceEmulator
from redis_server import RedisServer

AIRFLOW_VERSION = version("apache-airflow")

pytestmark = pytest.mark.skipif(
    int(AIRFLOW_VERSION.split(".")[0]) < 3,
    reason=(
        f"needs Airflow 3 (its API server's execution API, dag-processor and task SDK); this "
        f"environment has Airflow {AIRFLOW_VERSION}"
    ),
)

redis = pytest.importorskip("redis")

DAGS_FOLDER = Path(__file__).parent / "dags"
LOCAL_SETTINGS = Path(__file__).parent / "deployment_config" / "airflow_local_settings.py"
#: LocalExecutor workers: tasks run in this many processes at once, each with its own limiter.
PARALLELISM = 4
#: The emulator's throttle and the connections' limit: CALLS completions per PERIOD seconds.
CALLS, PERIOD = 10, 2.0
#: A run's tasks: each defers, so each is also a trigger.
TASKS = BULK_UPLOADS + RATE_LIMITED_SENSORS
FILES = BULK_UPLOADS * BULK_FILES
#: Each triggerer runs at most half of a run's triggers: neither can take them all.
TRIGGERER_CAPACITY = math.ceil(TASKS / 2)
#: Completion calls the emulator admits while every trigger polls, before the thumbnails appear.
HOLD_CALLS = 3 * CALLS

# The load asks for many times the limit: one completion check per trigger (and per bulk upload's
# key) every poke interval, against CALLS per PERIOD for all.
assert (RATE_LIMITED_SENSORS + FILES) / RATE_LIMITED_POKE_INTERVAL > 4 * CALLS / PERIOD


def connection(emulator: MediaIntelligenceEmulator, **extra: str) -> str:
    """The emulator's MI connection (JSON), its completion limit CALLS (per PERIOD, once scaled)."""
    conn = json.loads(emulator.connection_json())
    conn["extra"] = {"complete_calls_per_minute": CALLS, **extra}
    return json.dumps(conn)


@pytest.fixture(scope="module")
def limiter_redis() -> Iterator[RedisServer]:
    """The deployment's own ``redis-server`` (skips the module if none can be installed)."""
    server = RedisServer().start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def limited_emulator() -> Iterator[MediaIntelligenceEmulator]:
    """An emulator throttling completions to CALLS per PERIOD, uploads invisible until the test says."""
    state = AnswerRecordingState(visibility_delay=3600, rate_limits={"complete": (CALLS, PERIOD)})
    with MediaIntelligenceEmulator(state=state) as server:
        yield server


@pytest.fixture(scope="module")
def limited_cluster(
    tmp_path_factory: pytest.TempPathFactory,
    limited_emulator: MediaIntelligenceEmulator,
    limiter_redis: RedisServer,
) -> Iterator[AirflowCluster]:
    """
    The deployment, with two triggerers and two connections to the emulator: ``mi_shared`` shares
    its limits through ``limiter_redis`` (and fails a call rather than fall back to a limit of its
    own, should Redis be unreachable), ``mi_alone`` keeps them in each process.
    """
    env = {
        "AIRFLOW_CONN_MI_REDIS": limiter_redis.url,
        "AIRFLOW_CONN_MI_SHARED": connection(
            limited_emulator, rate_limit_redis_conn_id="mi_redis", rate_limit_redis_fallback="fail"
        ),
        "AIRFLOW_CONN_MI_ALONE": connection(limited_emulator),
        "MI_SCHED_COMPLETE_PERIOD": str(PERIOD),
        "AIRFLOW__TRIGGERER__CAPACITY": str(TRIGGERER_CAPACITY),
    }
    home = tmp_path_factory.mktemp("rate-limited-airflow-home")
    with running_deployment(
        home,
        DAGS_FOLDER,
        env,
        [RATE_LIMIT_DAG],
        parallelism=PARALLELISM,
        triggerers=2,
        local_settings=LOCAL_SETTINGS,
    ) as deployment:
        yield deployment


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bulk uploads' images: ``batch-<i>/face-<j>.png``, each file different."""
    folder = tmp_path_factory.mktemp("rate-limited-images")
    for batch in range(BULK_UPLOADS):
        (folder / f"batch-{batch}").mkdir()
        for index in range(BULK_FILES):
            color = (40 + 20 * batch, 40 + 20 * index, 160)
            (folder / f"batch-{batch}" / f"face-{index}.png").write_bytes(png(color))
    return folder


@dataclass
class Load:
    """What one run did: its outcome, the emulator's counts during it, and who served its triggers."""

    run_id: str
    state: str
    #: The emulator's 429 answers during the run, per endpoint.
    throttled: dict[str, int]
    #: Completion calls the emulator let through during the run.
    admitted: int
    bulk_keys: list[str]
    storage_puts: int
    #: triggerer job id -> the ids of the run's triggers it ran.
    served: dict[int, set[int]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def states(cluster: AirflowCluster, run_id: str) -> dict[str | None, int]:
    counts: dict[str | None, int] = {}
    for ti in cluster.task_instances(RATE_LIMIT_DAG, run_id):
        counts[ti["state"]] = counts.get(ti["state"], 0) + 1
    return counts


def run_load(
    cluster: AirflowCluster, emulator: MediaIntelligenceEmulator, images: Path, run_id: str, conn_id: str
) -> Load:
    """Run the DAG once through ``conn_id``, as the module's docstring says; return what it did."""
    state = emulator.state
    assert isinstance(state, AnswerRecordingState)
    keys = [rate_limited_sensor_key(run_id, index) for index in range(RATE_LIMITED_SENSORS)]
    state.store_thumbnails(WORKSPACE, keys, visible=False)
    before = state.stats()
    presigned_before = len(state.requests_to("presigned-url"))
    storage_before = len(state.requests_to("storage"))
    served: dict[int, set[int]] = {}

    def tasks() -> list[tuple[str, int | None]]:
        """``(state, triggerer id)`` of each task instance; notes which triggerer runs which trigger."""
        rows = cluster.query(
            "SELECT ti.state, t.id, t.triggerer_id FROM task_instance ti LEFT JOIN trigger t "
            "ON ti.trigger_id = t.id WHERE ti.dag_id = ? AND ti.run_id = ?",
            (RATE_LIMIT_DAG, run_id),
        )
        for _, trigger_id, triggerer_id in rows:
            if trigger_id is not None and triggerer_id is not None:
                served.setdefault(triggerer_id, set()).add(trigger_id)
        return [(ti_state, triggerer_id) for ti_state, _, triggerer_id in rows]

    def all_waiting() -> bool:
        """Whether every task has deferred, its trigger running, or ended (without Redis, some may fail)."""
        rows = tasks()
        return len(rows) == TASKS and all(
            (ti_state == "deferred" and triggerer_id is not None) or ti_state in ("success", "failed")
            for ti_state, triggerer_id in rows
        )

    def admitted() -> int:
        return int(state.stats()["admitted"]["complete"])

    def held_for(calls: int) -> bool:
        tasks()
        return admitted() >= calls

    def finished() -> str | None:
        tasks()
        run_state = cluster.run_state(RATE_LIMIT_DAG, run_id)
        return run_state if run_state in ("success", "failed") else None

    started = time.monotonic()
    cluster.trigger(RATE_LIMIT_DAG, run_id, {"mi_conn_id": conn_id, "images": str(images)})
    cluster.wait(all_waiting, 240, f"every task of {run_id} to defer", interval=0.5)
    deferred = time.monotonic()
    target = admitted() + HOLD_CALLS
    cluster.wait(
        lambda: held_for(target), 120, f"{HOLD_CALLS} completion calls from the triggers of {run_id}"
    )
    held = time.monotonic()
    state.make_all_visible()
    outcome = cluster.wait(finished, 240, f"run {run_id} to finish", interval=0.5)
    after = state.stats()
    return Load(
        run_id=run_id,
        state=outcome,
        throttled={name: count - before["throttled"][name] for name, count in after["throttled"].items()},
        admitted=after["admitted"]["complete"] - before["admitted"]["complete"],
        bulk_keys=[
            r.thumbnail_key for r in state.requests_to("presigned-url")[presigned_before:] if r.thumbnail_key
        ],
        storage_puts=len(state.requests_to("storage")) - storage_before,
        served=served,
        timings={
            "all deferred": deferred - started,
            "held": held - deferred,
            "finished": time.monotonic() - held,
        },
    )


def report(load: Load) -> str:
    """One line: the run's outcome, its 429s, the triggers each triggerer ran, how long each phase took."""
    throttled = {name: count for name, count in load.throttled.items() if count} or 0
    per_triggerer = ", ".join(f"job {job} {len(ids)}" for job, ids in sorted(load.served.items()))
    timings = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in load.timings.items())
    return (
        f"{load.run_id}: {load.state}; 429s: {throttled}; {load.admitted} completions admitted; "
        f"triggers per triggerer: {per_triggerer}; {timings}"
    )


def running_triggerers(cluster: AirflowCluster) -> set[int]:
    rows = cluster.query("SELECT id FROM job WHERE job_type = 'TriggererJob' AND state = 'running'")
    return {row[0] for row in rows}


def return_values(cluster: AirflowCluster, run_id: str) -> dict[tuple[str, int], Any]:
    """``{(task_id, map_index): return value}`` of the run's tasks."""
    rows = cluster.query(
        "SELECT task_id, map_index, value FROM xcom WHERE dag_id = ? AND run_id = ? AND key = ?",
        (RATE_LIMIT_DAG, run_id, "return_value"),
    )
    values = {}
    for task_id, map_index, value in rows:
        decoded = json.loads(value)
        values[(task_id, map_index)] = json.loads(decoded) if isinstance(decoded, str) else decoded
    return values


def test_tasks_and_two_triggerers_sharing_redis_keep_the_quota(
    limited_cluster: AirflowCluster,
    limited_emulator: MediaIntelligenceEmulator,
    limiter_redis: RedisServer,
    images: Path,
) -> None:
    cluster, state = limited_cluster, limited_emulator.state
    assert isinstance(state, AnswerRecordingState)
    load = run_load(cluster, limited_emulator, images, "shared", "mi_shared")
    print(f"\n{report(load)}")

    assert load.state == "success", (report(load), states(cluster, load.run_id), cluster.diagnostics())
    assert not any(load.throttled.values()), report(load)
    # Two triggerers ran the run's triggers, some each.
    assert set(load.served) == running_triggerers(cluster) and len(load.served) == 2, report(load)
    assert all(load.served.values()), report(load)

    tis = cluster.task_instances(RATE_LIMIT_DAG, load.run_id)
    assert states(cluster, load.run_id) == {"success": TASKS}
    assert {ti["try_number"] for ti in tis} == {1}
    # Every file uploaded once, every key seen COMPLETED once and then checked no more.
    assert len(load.bulk_keys) == len(set(load.bulk_keys)) == FILES and load.storage_puts == FILES
    sensor_keys = [rate_limited_sensor_key(load.run_id, index) for index in range(RATE_LIMITED_SENSORS)]
    for key in [*load.bulk_keys, *sensor_keys]:
        answers = state.answers_for(key)
        assert answers.count(True) == 1 and answers[-1], (key, answers)
    values = return_values(cluster, load.run_id)
    for index in range(BULK_UPLOADS):
        summary = values[("bulk", index)]
        counts = {name: summary[name] for name in ("files", "completed", "waiting", "failed")}
        assert counts == {"files": BULK_FILES, "completed": BULK_FILES, "waiting": 0, "failed": 0}, summary
    for index in range(RATE_LIMITED_SENSORS):
        assert values[("wait", index)] == {"uploadStatus": "COMPLETED", "uploadMessage": None}

    # The completion limit lives in Redis: CALLS slots, every one given back.
    name = f"{COMPLETE_UPLOAD}\n{limited_emulator.url}\n{limited_emulator.access_key}"
    prefix = "mi:rate-limit:{" + hashlib.sha256(name.encode()).hexdigest()[:24] + "}"
    client = redis.Redis(port=limiter_redis.port, decode_responses=True)
    try:
        assert {key.removeprefix(prefix) for key in client.keys(f"{prefix}*")} >= {
            ":free",
            ":meta",
            ":limits",
        }
        assert (client.zcard(f"{prefix}:free"), client.zcard(f"{prefix}:held")) == (CALLS, 0)
    finally:
        client.close()


def test_the_same_load_without_redis_exceeds_the_quota(
    limited_cluster: AirflowCluster, limited_emulator: MediaIntelligenceEmulator, images: Path
) -> None:
    """The control: each process keeps the limit on its own, and together they draw 429s."""
    load = run_load(limited_cluster, limited_emulator, images, "alone", "mi_alone")
    print(f"\n{report(load)}")
    assert load.throttled["complete"] > 0, report(load)
    assert len(load.served) == 2, report(load)
