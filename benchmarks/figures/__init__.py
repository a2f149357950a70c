"""
The figures of issue 5, one module per group. Each module has ``KEYS`` (the JSON keys it fills)
and ``measure(smoke=False)``, which returns the JSON entries by key (see :mod:`benchmarks.report`);
``smoke=True`` runs a tiny size that only checks the plumbing.
"""

from __future__ import annotations

from types import ModuleType

from benchmarks.figures import (
    bulk_steady_state,
    bulk_upload,
    cross_process_rate_limit,
    import_time,
    many_waiters,
    person_sync,
    rate_limit,
    sensor_latency,
    signed_call,
    triggers,
)

#: Group name -> its module, in the issue's order.
GROUPS: dict[str, ModuleType] = {
    "signed_call": signed_call,
    "triggers": triggers,
    "rate_limit": rate_limit,
    "many_waiters": many_waiters,
    "import_time": import_time,
    "sensor_latency": sensor_latency,
    "bulk_upload": bulk_upload,
    "person_sync": person_sync,
    "cross_process_rate_limit": cross_process_rate_limit,
    "bulk_steady_state": bulk_steady_state,
}
