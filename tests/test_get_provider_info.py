"""The provider's metadata names every hook, operator, sensor and trigger module it ships."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import airflow_provider_mi
from airflow_provider_mi.get_provider_info import get_provider_info

PACKAGE = Path(airflow_provider_mi.__file__).parent
#: Modules that serve the classes of their kind without holding any: the person methods, declared
#: once for both hooks; what every operator shares; how the upload operators wait; one file's
#: upload in threads (bulk upload and person sync); a bulk upload's run.
HELPERS = {
    "hooks": {"__init__", "persons"},
    "operators": {"__init__", "base", "waiting", "file_uploads", "bulk_run"},
}


@pytest.mark.parametrize("kind", ["hooks", "operators", "sensors", "triggers"])
def test_every_module_of_a_kind_is_listed_and_imports(kind):
    [entry] = get_provider_info()[kind]
    shipped = {
        f"airflow_provider_mi.{kind}.{path.stem}"
        for path in (PACKAGE / kind).glob("*.py")
        if path.stem not in HELPERS.get(kind, {"__init__"})
    }
    assert set(entry["python-modules"]) == shipped
    for module in entry["python-modules"]:
        importlib.import_module(module)
