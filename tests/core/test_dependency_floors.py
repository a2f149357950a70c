"""The constraints of the lowest environment pin every direct dependency at its declared floor."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).parents[2]


def declared_floors() -> dict[str, Version]:
    """Direct runtime dependencies, the emulator and redis extras too -> the floor their ``>=`` sets."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    floors = {}
    for line in [*project["dependencies"], *extras["emulator"], *extras["redis"]]:
        requirement = Requirement(line)
        (floor,) = (spec.version for spec in requirement.specifier if spec.operator == ">=")
        floors[requirement.name] = Version(floor)
    return floors


def pinned() -> dict[str, Version]:
    lines = (ROOT / "constraints" / "lowest-direct.txt").read_text().splitlines()
    pins = {}
    for line in lines:
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            (spec,) = requirement.specifier
            assert spec.operator == "==", f"{line!r}: the lowest environment pins exact versions"
            pins[requirement.name] = Version(spec.version)
    return pins


def test_every_direct_dependency_is_pinned_at_its_floor():
    floors, pins = declared_floors(), pinned()
    assert sorted(pins) == sorted(floors)
    # Airflow is the release scripts/test runs for its 2.11 series: the floor's series, at least.
    airflow_floor, airflow_pin = floors.pop("apache-airflow"), pins.pop("apache-airflow")
    assert airflow_pin.release[:2] == airflow_floor.release[:2] and airflow_pin >= airflow_floor
    assert pins == floors
