"""
The Airflow-free core of the provider.

Signing, request building, response parsing, retry decisions and connection settings live here,
written once and shared by the synchronous hook, the asynchronous trigger and the emulator.
Nothing in this package imports Airflow.
"""
