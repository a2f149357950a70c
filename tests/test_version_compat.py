"""On an Airflow older than supported, importing the provider's Airflow side fails with a clear message."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from airflow_provider_mi import __version__
from airflow_provider_mi.version_compat import MIN_AIRFLOW_VERSION, check_airflow_version

ROOT = Path(__file__).parents[1]
AIRFLOW_PACKAGES = ("hooks", "operators", "sensors", "triggers", "storage")


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (with this process's environment: the test AIRFLOW_HOME)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_minimum_is_the_floor_pyproject_declares():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (airflow,) = [Requirement(line) for line in dependencies if Requirement(line).name == "apache-airflow"]
    (floor,) = (spec.version for spec in airflow.specifier if spec.operator == ">=")
    assert Version(floor) == Version(MIN_AIRFLOW_VERSION)


@pytest.mark.parametrize("version", ["2.11.0", "2.11.2", "2.11.0rc1", "2.11.0.dev0", "3.0.6", "3.3.2"])
def test_the_minimum_and_newer_pass(version):
    check_airflow_version(version)


@pytest.mark.parametrize("version", ["2.10.5", "2.10.5+astro.1", "2.9.0", "1.10.15"])
def test_older_releases_are_refused_naming_the_package_its_version_and_the_minimum(version):
    with pytest.raises(RuntimeError) as raised:
        check_airflow_version(version)
    assert str(raised.value) == (
        f"The package `airflow-provider-mi:{__version__}` needs Apache Airflow 2.11.0+, and this is "
        f"Airflow {version}: it is not compatible with it. "
        "Upgrade Airflow (pip install 'apache-airflow>=2.11')."
    )


def test_importing_any_airflow_part_of_the_provider_on_an_older_airflow_raises():
    result = run_python(
        f"""
        import airflow
        airflow.__version__ = "2.10.5"  # as if an older Airflow were installed
        for package in {AIRFLOW_PACKAGES!r}:
            module = "storage" if package == "storage" else f"{{package}}.person_thumbnail"
            try:
                __import__(f"airflow_provider_mi.{{module}}")
            except RuntimeError as err:
                print(package, "|", err)
            else:
                print(package, "| imported")
        """
    )
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" | ", 1) for line in result.stdout.splitlines())
    assert sorted(lines) == sorted(AIRFLOW_PACKAGES)
    for package, message in lines.items():
        assert message.startswith(f"The package `airflow-provider-mi:{__version__}` needs Apache Airflow"), (
            package
        )
        assert "this is Airflow 2.10.5" in message


def test_the_airflow_free_parts_import_without_airflow():
    # The pytest plugin loads before a suite points AIRFLOW_HOME anywhere: it must not import Airflow.
    result = run_python(
        """
        import sys
        import airflow_provider_mi.emulator.pytest_plugin
        import airflow_provider_mi.core.pipeline
        print(sorted(name for name in sys.modules if name == "airflow" or name.startswith("airflow.")))
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_classifiers_name_exactly_the_pythons_scripts_test_runs():
    # The test environments use python3 (3.11 on these machines); the smoke environments py3.X.
    smoke = subprocess.run(
        ["bash", "-c", 'source scripts/bootstrap.sh && echo "${MI_SMOKE_SERIES[*]}"'],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.split()
    tested = {"3.11"} | {series.removeprefix("py") for series in smoke if series.startswith("py")}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    prefix = "Programming Language :: Python :: 3."
    declared = {line.rsplit(" :: ", 1)[1] for line in project["classifiers"] if line.startswith(prefix)}
    assert declared == tested
    assert project["requires-python"] == f">={min(tested, key=Version)}"
