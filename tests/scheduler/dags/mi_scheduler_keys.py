"""
The names and timings shared by the DAGs of ``mi_scheduler_dags.py`` and the tests that run them.

Not a DAG file (``.airflowignore`` lists it); the DAG file imports it from the DAG folder, which
the DAG processor and the task runner put on ``sys.path``, and ``conftest.py`` puts it on the
tests' ``sys.path``.
"""

from __future__ import annotations

WORKSPACE = "scheduler-workspace"
UPLOAD_DAG = "mi_sched_upload_then_deferred"
RESCHEDULE_DAG = "mi_sched_reschedule"
MAPPED_DAG = "mi_sched_mapped_deferred"
DAG_IDS = (UPLOAD_DAG, RESCHEDULE_DAG, MAPPED_DAG)

RESCHEDULE_KEY = "scheduler/reschedule.png"
MAPPED_COUNT = 200

#: Seconds between two checks of the deferred sensor after an upload (its trigger polls this often).
POKE_INTERVAL = 1.0
#: The reschedule-mode sensor: long enough for the test to restart the scheduler between two pokes.
RESCHEDULE_POKE_INTERVAL = 8.0
#: The 200 mapped sensors: their triggers poll less often, so as not to flood the emulator.
MAPPED_POKE_INTERVAL = 3.0
#: Generous: a test fails on its own, shorter, deadline long before a sensor times out.
SENSOR_TIMEOUT = 900


def mapped_key(index: int) -> str:
    """The thumbnail key the mapped sensor ``index`` waits for."""
    return f"scheduler/mapped-{index:03d}.png"


# -- The deployment sharing its rate limit through Redis (test_shared_rate_limit_deployment.py) --

RATE_LIMIT_DAG = "mi_sched_rate_limited"
#: Mapped bulk uploads (of BULK_FILES images each, BULK_CONCURRENCY at a time) and mapped
#: deferred sensors, all in one run.
BULK_UPLOADS = 4
BULK_FILES = 5
BULK_CONCURRENCY = 3
RATE_LIMITED_SENSORS = 20
#: Seconds between two completion checks of each trigger: every trigger asks more often than
#: the limit (see the test) lets them all.
RATE_LIMITED_POKE_INTERVAL = 1.0


def rate_limited_sensor_key(run_id: str, index: int) -> str:
    """The thumbnail key the mapped sensor ``index`` of the run ``run_id`` waits for."""
    return f"rate-limited/{run_id}/sensor-{index:02d}.png"
