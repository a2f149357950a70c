"""
Fixtures of the real-scheduler tests: one emulator and one Airflow 3 deployment per module.

The deployment (see ``scheduler_cluster.py``) gets its own temporary ``AIRFLOW_HOME``, not the
session's, and the connection ``ncp_mi_default`` to the emulator in its environment.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from scheduler_cluster import AirflowCluster, running_deployment
from scheduler_emulator import AnswerRecordingState

from airflow_provider_mi.emulator import MediaIntelligenceEmulator

DAGS_FOLDER = Path(__file__).parent / "dags"
# The names and timings the DAGs use (mi_scheduler_keys.py), for the tests to import.
sys.path.insert(0, str(DAGS_FOLDER))

from mi_scheduler_keys import DAG_IDS  # noqa: E402

#: LocalExecutor workers: tasks are CPU-bound on start (fork, load the DAG, call the API server).
PARALLELISM = 4


@pytest.fixture(scope="module")
def emulator() -> Iterator[MediaIntelligenceEmulator]:
    """
    The emulator of the module. Uploads stay invisible (for an hour) until a test stores the
    thumbnail again with a short delay: the test decides when each wait ends.
    """
    with MediaIntelligenceEmulator(state=AnswerRecordingState(visibility_delay=3600)) as server:
        yield server


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, emulator: MediaIntelligenceEmulator
) -> Iterator[AirflowCluster]:
    """API server, dag-processor, scheduler and triggerer, running, with the test DAGs parsed and unpaused."""
    home = tmp_path_factory.mktemp("scheduler-airflow-home")
    with running_deployment(
        home, DAGS_FOLDER, emulator.airflow_env(), DAG_IDS, parallelism=PARALLELISM
    ) as deployment:
        yield deployment
