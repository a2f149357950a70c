"""
The ``airflow_local_settings`` of the rate-limited deployment: its completion limit, time-scaled.

The deployment of ``test_shared_rate_limit_deployment.py`` copies this file to
``$AIRFLOW_HOME/config/``, from where Airflow imports it in every process that imports
``airflow``: the scheduler (and the task processes its executor forks), each triggerer and its
trigger runner, the dag-processor, the API server. With ``MI_SCHED_COMPLETE_PERIOD`` set, the
connection extra ``complete_calls_per_minute`` counts its calls over that many seconds instead of
60, as the emulator's throttle in the test does: what the in-process tests do by patching
``RATE_LIMIT_EXTRAS`` themselves. Test-only: the provider has no such setting.
"""

from __future__ import annotations

import os

from airflow_provider_mi.core.rate_limit import COMPLETE_UPLOAD
from airflow_provider_mi.core.settings import RATE_LIMIT_EXTRAS

#: Airflow copies a local settings module's public names into ``airflow.settings``: none here.
__all__: list[str] = []

if period := os.environ.get("MI_SCHED_COMPLETE_PERIOD"):
    RATE_LIMIT_EXTRAS[COMPLETE_UPLOAD] = ("complete_calls_per_minute", float(period))
