"""
The oldest Airflow this provider runs on, checked when its Airflow side is imported.

Each Airflow-facing package (``hooks``, ``operators``, ``sensors``, ``triggers``) and ``storage``
import this module first, so on an older Airflow importing any of them raises a ``RuntimeError`` that names
this package, its version and the minimum, as Airflow's own providers do, instead of an
``ImportError`` from deep inside Airflow. The top-level package, ``core`` and the emulator stay
free of Airflow (the pytest plugin loads before a test suite has set ``AIRFLOW_HOME``) and do not
check. Keep :data:`MIN_AIRFLOW_VERSION` in step with the ``apache-airflow>=`` of pyproject.toml.
"""

from __future__ import annotations

from airflow import __version__ as airflow_version
from packaging.version import Version

from airflow_provider_mi import __version__

#: The oldest Airflow release supported (pyproject.toml: ``apache-airflow>=2.11``).
MIN_AIRFLOW_VERSION = "2.11.0"


def check_airflow_version(version: str) -> None:
    """
    Raise ``RuntimeError`` if Airflow ``version`` is older than :data:`MIN_AIRFLOW_VERSION`.

    Pre-releases and local builds of the minimum pass (``2.11.0rc1``, ``2.11.0.dev0``): only the
    base version counts, as in Airflow's providers.
    """
    if Version(Version(version).base_version) < Version(MIN_AIRFLOW_VERSION):
        raise RuntimeError(
            f"The package `airflow-provider-mi:{__version__}` needs Apache Airflow "
            f"{MIN_AIRFLOW_VERSION}+, and this is Airflow {version}: it is not compatible with it. "
            "Upgrade Airflow (pip install 'apache-airflow>=2.11')."
        )


check_airflow_version(airflow_version)
