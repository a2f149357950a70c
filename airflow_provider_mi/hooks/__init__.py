"""Hooks of the provider; importing them first checks the Airflow version (``version_compat``)."""

from airflow_provider_mi import version_compat  # noqa: F401  (raises on an Airflow older than supported)
