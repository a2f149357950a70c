"""
The measured processes. Each runs as ``python -m benchmarks.clients.NAME --out FILE ...`` and
writes its measurements to FILE as JSON; its own output is Airflow's log, kept out of the way.
"""
