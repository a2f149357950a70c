"""
The sensor under a real Airflow 3 deployment: scheduler, triggerer, dag-processor and API server.

Unlike ``airflow dags test`` (one process, no triggerer), these runs go through everything a
deployment does: the dag-processor parses ``dags/mi_scheduler_dags.py`` into the sqlite
database, the scheduler queues tasks to its LocalExecutor, each task talks to the API server's
execution API, deferred tasks wait as triggers in the triggerer. The tests kill or restart those
processes mid-wait, as a crash or a deploy would, and check that every wait still ends once, with
the right outcome, and that nothing is done twice (the emulator's log counts every API call).

Timing on two cores shared with other jobs (see ``scheduler_cluster.tuned_config``): the
deployment starts in about 13 s, the triggerer and the scheduler tests take about 20 s each, the
200 mapped sensors 60 to 145 s: 2 to 3.5 minutes in all. Each wait is bounded; a test that
overruns fails with the tail of every component's output.
"""

from __future__ import annotations

import json
import signal
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psutil
import pytest
from mi_scheduler_keys import (
    MAPPED_COUNT,
    MAPPED_DAG,
    POKE_INTERVAL,
    RESCHEDULE_DAG,
    RESCHEDULE_KEY,
    RESCHEDULE_POKE_INTERVAL,
    UPLOAD_DAG,
    WORKSPACE,
    mapped_key,
)
from scheduler_cluster import AirflowCluster
from scheduler_emulator import AnswerRecordingState, png

from airflow_provider_mi.emulator import MediaIntelligenceEmulator

AIRFLOW_VERSION = version("apache-airflow")

pytestmark = pytest.mark.skipif(
    int(AIRFLOW_VERSION.split(".")[0]) < 3,
    reason=(
        f"needs Airflow 3 (its API server's execution API, dag-processor and task SDK); this "
        f"environment has Airflow {AIRFLOW_VERSION}"
    ),
)

COMPLETED = {"uploadStatus": "COMPLETED", "uploadMessage": None}


def recording(emulator: MediaIntelligenceEmulator) -> AnswerRecordingState:
    assert isinstance(emulator.state, AnswerRecordingState)
    return emulator.state


def alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def utc(timestamp: str) -> datetime:
    """A timestamp of the sqlite database (naive, UTC) as an aware datetime."""
    return datetime.fromisoformat(timestamp).replace(tzinfo=UTC)


def task_instance(cluster: AirflowCluster, dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
    [ti] = [ti for ti in cluster.task_instances(dag_id, run_id) if ti["task_id"] == task_id]
    return ti


def return_values(cluster: AirflowCluster, dag_id: str, run_id: str) -> dict[tuple[str, int], Any]:
    """``{(task_id, map_index): return value}`` of the run's tasks."""
    rows = cluster.query(
        "SELECT task_id, map_index, value FROM xcom WHERE dag_id = ? AND run_id = ? AND key = ?",
        (dag_id, run_id, "return_value"),
    )
    values = {}
    for task_id, map_index, value in rows:
        decoded = json.loads(value)
        values[(task_id, map_index)] = json.loads(decoded) if isinstance(decoded, str) else decoded
    return values


def triggerer_of(cluster: AirflowCluster, trigger_id: int) -> int | None:
    """The id of the triggerer job running the trigger, or ``None`` if none has taken it."""
    rows = cluster.query("SELECT triggerer_id FROM trigger WHERE id = ?", (trigger_id,))
    return rows[0][0] if rows else None


@pytest.fixture(autouse=True)
def all_components_running(cluster: AirflowCluster) -> None:
    """Start again any component an earlier (failed) test left stopped."""
    for name in cluster.commands:
        if name not in cluster.components:
            cluster.start(name)
    cluster.wait(cluster.api_healthy, 60, "the API server to answer")


def test_a_deferred_wait_survives_a_killed_triggerer(
    cluster: AirflowCluster, emulator: MediaIntelligenceEmulator, tmp_path: Path
) -> None:
    state = recording(emulator)
    image = tmp_path / "face.png"
    image.write_bytes(png())
    run_id = "triggerer_killed"

    cluster.trigger(UPLOAD_DAG, run_id, {"image": str(image)})
    cluster.wait(
        lambda: cluster.task_state(UPLOAD_DAG, run_id, "wait") == "deferred", 120, "the sensor to defer"
    )
    [presigned] = state.requests_to("presigned-url")
    key = presigned.thumbnail_key
    assert key
    # The upload's own check, the sensor's check before deferring, then the trigger's polls.
    cluster.wait(lambda: len(state.answers_for(key)) >= 3, 30, "the trigger to poll the API")
    trigger_id = task_instance(cluster, UPLOAD_DAG, run_id, "wait")["trigger_id"]
    first_triggerer = triggerer_of(cluster, trigger_id)
    assert first_triggerer is not None

    # SIGKILL the triggerer and all it spawned (its trigger runner has a process group of its own).
    killed = cluster.components["triggerer"].tree()
    assert len(killed) >= 2, killed  # the triggerer and its trigger runner
    cluster.stop("triggerer", signal.SIGKILL)
    assert not [proc for proc in killed if alive(proc)]
    checks_at_kill = len(state.answers_for(key))
    time.sleep(3 * POKE_INTERVAL)
    assert len(state.answers_for(key)) == checks_at_kill, "something still polls with the triggerer dead"
    assert cluster.task_state(UPLOAD_DAG, run_id, "wait") == "deferred"

    # A new triggerer adopts the orphaned trigger once the dead one's heartbeat is stale.
    cluster.start("triggerer")
    cluster.wait(
        lambda: len(state.answers_for(key)) > checks_at_kill, 90, "the new triggerer to resume the wait"
    )
    adopter = triggerer_of(cluster, trigger_id)
    assert adopter not in (None, first_triggerer)
    assert not any(state.answers_for(key)), "the thumbnail was seen before it was made visible"

    state.store_thumbnail(WORKSPACE, key, png(), delay=0)
    assert cluster.wait_for_run(UPLOAD_DAG, run_id, 90) == "success"
    time.sleep(2 * POKE_INTERVAL)  # a second copy of the trigger would poll again meanwhile

    answers = state.answers_for(key)
    assert answers.count(True) == 1 and answers[-1], answers  # completion seen once, then no check
    # The upload happened once: the restart re-sent neither the presigned URL request nor the PUT.
    assert len(state.requests_to("presigned-url")) == 1
    assert len(state.requests_to("storage")) == 1
    assert {r.status for r in state.requests_to("complete") if r.thumbnail_key == key} == {200}
    tis = {ti["task_id"]: ti for ti in cluster.task_instances(UPLOAD_DAG, run_id)}
    assert {task_id: (ti["state"], ti["try_number"]) for task_id, ti in tis.items()} == {
        "upload": ("success", 1),
        "wait": ("success", 1),
    }
    assert tis["wait"]["trigger_id"] is None and tis["wait"]["next_method"] is None
    assert cluster.query("SELECT count(*) FROM trigger WHERE id = ?", (trigger_id,)) == [(0,)]
    assert return_values(cluster, UPLOAD_DAG, run_id)[("wait", -1)] == COMPLETED


def test_a_reschedule_mode_wait_survives_scheduler_restarts(
    cluster: AirflowCluster, emulator: MediaIntelligenceEmulator
) -> None:
    state = recording(emulator)
    run_id = "scheduler_restarted"
    assert RESCHEDULE_POKE_INTERVAL >= 6, "the scheduler is stopped 3 s or more before a poke is due"
    cluster.trigger(RESCHEDULE_DAG, run_id)
    ti_id = cluster.wait(
        lambda: cluster.query(
            "SELECT id FROM task_instance WHERE dag_id = ? AND run_id = ?", (RESCHEDULE_DAG, run_id)
        ),
        60,
        "the task instance",
    )[0][0]

    def reschedules() -> list[datetime]:
        rows = cluster.query(
            "SELECT reschedule_date FROM task_reschedule WHERE ti_id = ? ORDER BY id", (ti_id,)
        )
        return [utc(row[0]) for row in rows]

    def waiting_with_margin(pokes: int) -> bool:
        """Whether the sensor is waiting for its next poke after ``pokes`` pokes, 3 s or more away."""
        dates = reschedules()
        return (
            len(dates) >= pokes
            and cluster.task_state(RESCHEDULE_DAG, run_id, "wait") == "up_for_reschedule"
            and (dates[-1] - datetime.now(UTC)).total_seconds() >= 3
        )

    seen = 0  # reschedules seen before the previous stop
    for sig in (signal.SIGTERM, signal.SIGKILL):
        # Stop the scheduler between two pokes: SIGTERM as in a deploy, then SIGKILL as in a crash.
        # (On a loaded machine the first moment with a 3 s margin may come a few pokes later.)
        cluster.wait(
            lambda seen=seen: waiting_with_margin(seen + 1), 60, f"poke {seen + 1} to be rescheduled"
        )
        pokes, checks = len(reschedules()), len(state.answers_for(RESCHEDULE_KEY))
        cluster.stop("scheduler", sig)
        assert cluster.task_state(RESCHEDULE_DAG, run_id, "wait") == "up_for_reschedule"
        assert len(reschedules()) == pokes and len(state.answers_for(RESCHEDULE_KEY)) == checks
        cluster.start("scheduler")
        if sig is signal.SIGTERM:  # the new scheduler pokes again when the reschedule date is due
            cluster.wait(
                lambda checks=checks: len(state.answers_for(RESCHEDULE_KEY)) > checks,
                60,
                "the new scheduler to poke",
            )
        seen = pokes

    # The scheduler started after the SIGKILL runs the poke that sees the upload.
    state.store_thumbnail(WORKSPACE, RESCHEDULE_KEY, png(), delay=0)
    assert cluster.wait_for_run(RESCHEDULE_DAG, run_id, 60) == "success"

    answers = state.answers_for(RESCHEDULE_KEY)
    assert len(answers) == len(reschedules()) + 1  # one check per poke: each reschedule, then success
    assert answers.count(True) == 1 and answers[-1], answers
    ti = task_instance(cluster, RESCHEDULE_DAG, run_id, "wait")
    assert (ti["state"], ti["try_number"]) == ("success", 1)
    assert return_values(cluster, RESCHEDULE_DAG, run_id)[("wait", -1)] == COMPLETED


def test_200_mapped_deferred_sensors_all_complete(
    cluster: AirflowCluster, emulator: MediaIntelligenceEmulator
) -> None:
    state = recording(emulator)
    run_id = "mapped"
    keys = [mapped_key(index) for index in range(MAPPED_COUNT)]

    def states() -> dict[str | None, int]:
        counts: dict[str | None, int] = {}
        for ti in cluster.task_instances(MAPPED_DAG, run_id):
            counts[ti["state"]] = counts.get(ti["state"], 0) + 1
        return counts

    started = time.monotonic()
    cluster.trigger(MAPPED_DAG, run_id)
    # Every sensor checks once, finds nothing and defers: 200 triggers wait in the triggerer at once.
    cluster.wait(lambda: states() == {"deferred": MAPPED_COUNT}, 240, "all mapped sensors to defer")
    deferred_after = time.monotonic() - started
    assert not any(found for key in keys for found in state.answers_for(key))

    for key in keys:
        state.store_thumbnail(WORKSPACE, key, png(), delay=1.0)
    assert cluster.wait_for_run(MAPPED_DAG, run_id, 240) == "success", states()
    finished_after = time.monotonic() - started

    assert states() == {"success": MAPPED_COUNT}
    tis = cluster.task_instances(MAPPED_DAG, run_id)
    assert sorted(ti["map_index"] for ti in tis) == list(range(MAPPED_COUNT))
    assert {ti["try_number"] for ti in tis} == {1}
    for key in keys:
        answers = state.answers_for(key)
        assert answers.count(True) == 1 and answers[-1], (key, answers)
    values = return_values(cluster, MAPPED_DAG, run_id)
    assert values == {("wait", index): COMPLETED for index in range(MAPPED_COUNT)}
    print(f"\nmapped: all deferred after {deferred_after:.0f} s, done after {finished_after:.0f} s")
