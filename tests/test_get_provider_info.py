"""The provider's metadata names every hook, operator, sensor and trigger module it ships."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import airflow_provider_mi
from airflow_provider_mi.get_provider_info import get_provider_info

PACKAGE = Path(airflow_provider_mi.__file__).parent


@pytest.mark.parametrize("kind", ["hooks", "operators", "sensors", "triggers"])
def test_every_module_of_a_kind_is_listed_and_imports(kind):
    [entry] = get_provider_info()[kind]
    shipped = {
        f"airflow_provider_mi.{kind}.{path.stem}"
        for path in (PACKAGE / kind).glob("*.py")
        if path.stem != "__init__"
        and not (kind == "hooks" and path.stem == "persons")  # a mixin
        and not (kind == "operators" and path.stem == "base")
    }
    assert set(entry["python-modules"]) == shipped
    for module in entry["python-modules"]:
        importlib.import_module(module)
