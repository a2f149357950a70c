"""
The release artefacts: ``python -m build`` makes an sdist and a wheel that ``twine check`` accepts,
the wheel installs into fresh Airflow 3.3 and 2.11 environments, where Airflow lists it, and pip on
Python 3.10 refuses it (``requires-python >= 3.11``).

It runs in the Airflow 3.3 test environment only (the 2.11 run skips it): it builds once and
installs the wheel into a new virtual environment per supported Airflow, both at once, each with
the Airflow release that ``scripts/bootstrap.sh`` pins. Everything happens in temporary
directories: ``scripts/build_dist.py`` copies the project first, so the build writes nothing into
the work tree. Under scripts/test, which builds once a run for these tests and the smoke
environments, the artefacts are the ones it names in ``MI_DIST_DIR``.
"""

from __future__ import annotations

import configparser
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path

import pytest

from airflow_cli import AIRFLOW_TEST_ENV, airflow_major_version, run_process
from airflow_provider_mi import __version__
from airflow_provider_mi.get_provider_info import get_provider_info

pytestmark = [
    pytest.mark.skipif(
        airflow_major_version() < 3,
        reason="run by the Airflow 3.3 environment, which installs the wheel on 3.3 and 2.11 itself",
    ),
    pytest.mark.timeout(900),
]

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "airflow-provider-mi"
DIST_NAME = "airflow_provider_mi"
SERIES = ("3.3", "2.11")
#: Seconds one `pip install` of Airflow and the wheel may take (about 40 s here).
INSTALL_TIMEOUT = 600.0
#: A line reporting a problem (Airflow's plain and structured log formats, Python warnings).
PROBLEM = re.compile(r"warn|error|exception|traceback|deprecat", re.IGNORECASE)


def airflow_pin(series: str) -> str:
    """The Airflow release ``scripts/bootstrap.sh`` pins for ``series`` (the single source)."""
    process = subprocess.run(
        ["bash", "-c", 'source scripts/bootstrap.sh && mi_airflow_pin "$1"', "bash", series],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return process.stdout.strip()


def python_for(series: str) -> str:
    """The interpreter ``scripts/bootstrap.sh`` finds for ``series`` (``py3.X``); skip without one."""
    process = subprocess.run(
        ["bash", "-c", 'source scripts/bootstrap.sh && mi_python_for "$1"', "bash", series],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if process.returncode != 0:
        pytest.skip(process.stderr.strip())
    return process.stdout.strip()


def succeeded(process: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert process.returncode == 0, (
        f"{process.args} exited {process.returncode}:\n{process.stdout}\n{process.stderr}"
    )
    return process


@dataclass(frozen=True)
class Dist:
    """The built artefacts."""

    wheel: Path
    sdist: Path


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Dist:
    """The sdist and wheel that ``python -m build`` makes of a copy of the project (scripts/build_dist.py)."""
    if os.environ.get("MI_DIST_DIR"):
        out = Path(os.environ["MI_DIST_DIR"])  # built by scripts/test for this run
    else:
        out = tmp_path_factory.mktemp("dist")
        build = [sys.executable, str(REPO / "scripts" / "build_dist.py"), str(out)]
        succeeded(run_process(build, timeout=300))
    wheels, sdists = sorted(out.glob("*.whl")), sorted(out.glob("*.tar.gz"))
    assert [path.name for path in wheels] == [f"{DIST_NAME}-{__version__}-py3-none-any.whl"]
    assert [path.name for path in sdists] == [f"{DIST_NAME}-{__version__}.tar.gz"]
    return Dist(wheel=wheels[0], sdist=sdists[0])


@dataclass(frozen=True)
class Installed:
    """A fresh virtual environment with one Airflow release and the wheel."""

    series: str
    airflow: str
    venv: Path
    install: subprocess.CompletedProcess[str]
    seconds: float

    def run(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """
        Run a program of the environment (e.g. ``airflow``) in its own AIRFLOW_HOME.

        It runs in that home, not in the work tree, so ``python -c`` imports the installed package.
        """
        home = self.venv / "airflow-home"
        home.mkdir(exist_ok=True)
        env = {
            **{name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")},
            **AIRFLOW_TEST_ENV,
            "AIRFLOW_HOME": str(home),
            "COLUMNS": "200",
        }
        command = [str(self.venv / "bin" / args[0]), *args[1:]]
        return subprocess.run(
            command, cwd=home, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )


@pytest.fixture(scope="module")
def installed(dist: Dist, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Installed]]:
    """The wheel installed with each supported Airflow release, the environments made side by side."""
    root = tmp_path_factory.mktemp("venvs")
    started = time.monotonic()
    processes: dict[str, tuple[str, Path, subprocess.Popen[str]]] = {}
    for series in SERIES:
        pin, venv = airflow_pin(series), root / f"airflow-{series}"
        script = (
            f'"{sys.executable}" -m venv "{venv}" && '
            f'"{venv}/bin/python" -m pip install --no-input --progress-bar off '
            f'"apache-airflow=={pin}" "{dist.wheel}"'
        )
        process = subprocess.Popen(
            ["bash", "-c", script],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        processes[series] = (pin, venv, process)
    result: dict[str, Installed] = {}
    try:
        for series, (pin, venv, process) in processes.items():
            remaining = max(1.0, INSTALL_TIMEOUT - (time.monotonic() - started))
            stdout, stderr = process.communicate(timeout=remaining)
            done = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
            result[series] = Installed(series, pin, venv, done, time.monotonic() - started)
    finally:
        for _, _, process in processes.values():
            if process.poll() is None:  # timed out: end venv and pip with their shell
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    yield result


def test_twine_check_accepts_the_sdist_and_the_wheel(dist: Dist) -> None:
    process = succeeded(
        run_process([sys.executable, "-m", "twine", "check", "--strict", str(dist.sdist), str(dist.wheel)])
    )

    assert process.stdout.count("PASSED") == 2, process.stdout


def test_the_wheel_holds_the_package_its_metadata_and_entry_points(dist: Dist) -> None:
    with zipfile.ZipFile(dist.wheel) as wheel:
        names = set(wheel.namelist())
        info = f"{DIST_NAME}-{__version__}.dist-info"
        metadata = HeaderParser().parsestr(wheel.read(f"{info}/METADATA").decode())
        entry_points = configparser.ConfigParser()
        entry_points.read_string(wheel.read(f"{info}/entry_points.txt").decode())

    assert {
        "airflow_provider_mi/__init__.py",
        "airflow_provider_mi/py.typed",
        "airflow_provider_mi/get_provider_info.py",
        "airflow_provider_mi/hooks/media_intelligence.py",
        "airflow_provider_mi/emulator/pytest_plugin.py",
        f"{info}/licenses/LICENSE",
    } <= names
    assert not [name for name in names if name.startswith(("tests/", "example_dags/", "scripts/"))]
    assert metadata["Name"] == PACKAGE
    assert metadata["Version"] == __version__
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert "apache-airflow>=2.11" in metadata.get_all("Requires-Dist")
    assert dict(entry_points["apache_airflow_provider"]) == {
        "provider_info": "airflow_provider_mi.get_provider_info:get_provider_info"
    }
    assert dict(entry_points["pytest11"]) == {"ncp_mi_emulator": "airflow_provider_mi.emulator.pytest_plugin"}
    assert dict(entry_points["console_scripts"]) == {
        "mi-emulator": "airflow_provider_mi.emulator.__main__:main"
    }


def test_the_sdist_holds_the_sources_readme_and_license(dist: Dist) -> None:
    top = f"{DIST_NAME}-{__version__}"
    with tarfile.open(dist.sdist) as sdist:
        names = set(sdist.getnames())
        pkg_info = sdist.extractfile(f"{top}/PKG-INFO")
        assert pkg_info is not None
        metadata = HeaderParser().parsestr(pkg_info.read().decode())

    assert {f"{top}/{name}" for name in ("pyproject.toml", "README.md", "LICENSE")} <= names
    assert f"{top}/airflow_provider_mi/py.typed" in names
    assert metadata["Version"] == __version__


def test_the_version_is_defined_once() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())

    # The package metadata reads the version from the package, as the provider info does.
    assert "version" not in pyproject["project"]
    assert "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "airflow_provider_mi.__version__"
    }
    assert get_provider_info()["versions"] == [__version__]
    changelog = (REPO / "CHANGELOG.md").read_text()
    assert re.findall(r"^## (\S+)", changelog, re.MULTILINE)[0] == __version__


def test_pip_on_python_3_10_refuses_the_wheel(dist: Dist) -> None:
    python310 = python_for("py3.10")
    # Nothing is downloaded or installed: the wheel alone, no index, a dry run.
    dry_run = ["-m", "pip", "install", "--dry-run", "--no-deps", "--no-index", str(dist.wheel)]

    accepted = succeeded(run_process([sys.executable, *dry_run]))
    refused = run_process([python310, *dry_run])

    assert f"Would install {PACKAGE}-{__version__}" in accepted.stdout
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert re.search(
        rf"ERROR: Package '{PACKAGE}' requires a different Python: 3\.10\.\d+ not in '>=3\.11'",
        refused.stderr,
    ), refused.stderr


@pytest.mark.parametrize("series", SERIES)
def test_the_wheel_installs_cleanly_with_airflow(installed: dict[str, Installed], series: str) -> None:
    env = installed[series]
    print(f"apache-airflow=={env.airflow} and the wheel installed in {env.seconds:.0f} s")

    assert env.install.returncode == 0, env.install.stdout + env.install.stderr
    check = env.run("python", "-m", "pip", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    where = succeeded(
        env.run(
            "python",
            "-c",
            "import airflow, airflow_provider_mi, pathlib; "
            "print(airflow.__version__); print(pathlib.Path(airflow_provider_mi.__file__).parent)",
        )
    )
    airflow_version, package_dir = where.stdout.split()
    assert airflow_version == env.airflow
    # The wheel's copy (not this work tree's), with its type marker.
    assert Path(package_dir).is_relative_to(env.venv)
    assert (Path(package_dir) / "py.typed").is_file()


@pytest.mark.parametrize("series", SERIES)
def test_airflow_lists_the_installed_provider(installed: dict[str, Installed], series: str) -> None:
    env = installed[series]
    assert env.install.returncode == 0, env.install.stdout + env.install.stderr

    listed = succeeded(env.run("airflow", "providers", "list"))
    hooks = succeeded(env.run("airflow", "providers", "hooks"))

    assert re.search(rf"^{PACKAGE}\s+\|.*\|\s+{re.escape(__version__)}\s*$", listed.stdout, re.MULTILINE), (
        listed.stdout
    )
    problems = [line for line in (listed.stdout + listed.stderr).splitlines() if PROBLEM.search(line)]
    assert problems == []
    assert re.search(r"^ncp_media_intelligence\s+\|", hooks.stdout, re.MULTILINE), hooks.stdout
