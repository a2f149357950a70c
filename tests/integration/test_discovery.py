"""Airflow finds the provider: the providers CLI, ProvidersManager and ``airflow connections test``."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from airflow_cli import airflow_major_version, run_python
from airflow_provider_mi import __version__
from airflow_provider_mi.core.settings import CONN_TYPE, EXTRA_FIELDS
from airflow_provider_mi.emulator import MediaIntelligenceEmulator
from airflow_provider_mi.get_provider_info import (
    HOOK_CLASS,
    INTEGRATION,
    UI_FIELD_BEHAVIOUR,
    get_provider_info,
)

PACKAGE = "airflow-provider-mi"
WRONG_SECRET = "cli-wrong-secret-5d1e"
#: Anything that points at this provider in Airflow's output.
OUR_NAMES = re.compile(r"airflow[-_]provider[-_]mi|ncp_media_intelligence|MediaIntelligence", re.IGNORECASE)
#: A line reporting a problem (Airflow's plain and structured log formats, Python warnings).
PROBLEM = re.compile(r"warn|error|exception|traceback|deprecat", re.IGNORECASE)

AirflowCli = Callable[..., Any]


def problem_lines(*outputs: str) -> list[str]:
    return [line for output in outputs for line in output.splitlines() if PROBLEM.search(line)]


def flat(text: str) -> str:
    """``text`` with its whitespace collapsed: the CLI wraps long messages to the terminal width."""
    return " ".join(text.split())


def json_output(process: Any) -> Any:
    assert process.returncode == 0, process.stdout + process.stderr
    return json.loads(process.stdout)


def test_providers_list_shows_the_package_without_warnings(airflow_cli: AirflowCli) -> None:
    table = airflow_cli("providers", "list")
    listed = json_output(airflow_cli("providers", "list", "--output", "json"))

    assert table.returncode == 0, table.stderr
    assert re.search(rf"^{PACKAGE}\s+\|.*\|\s+{re.escape(__version__)}\s*$", table.stdout, re.MULTILINE)
    assert problem_lines(table.stdout, table.stderr) == []
    ours = [entry for entry in listed if entry["package_name"] == PACKAGE]
    assert ours == [
        {
            "package_name": PACKAGE,
            # the CLI strips reStructuredText syntax from descriptions, the final "." included
            "description": get_provider_info()["description"].rstrip("."),
            "version": __version__,
        }
    ]


def test_providers_hooks_shows_the_connection_type(airflow_cli: AirflowCli) -> None:
    table = airflow_cli("providers", "hooks")
    hooks = json_output(airflow_cli("providers", "hooks", "--output", "json"))

    assert table.returncode == 0, table.stderr
    assert re.search(rf"^{CONN_TYPE}\s+\|\s+{re.escape(HOOK_CLASS)}\s+\|", table.stdout, re.MULTILINE)
    assert [line for line in problem_lines(table.stdout, table.stderr) if OUR_NAMES.search(line)] == []
    assert [hook for hook in hooks if hook["connection_type"] == CONN_TYPE] == [
        {
            "connection_type": CONN_TYPE,
            "class": HOOK_CLASS,
            "conn_id_attribute_name": "mi_conn_id",
            "package_name": PACKAGE,
            "hook_name": INTEGRATION,
        }
    ]


def test_providers_get_shows_the_provider_and_its_metadata(airflow_cli: AirflowCli) -> None:
    short = json_output(airflow_cli("providers", "get", PACKAGE, "--output", "json"))
    full = json_output(airflow_cli("providers", "get", PACKAGE, "--full", "--output", "json"))

    assert short == [{"Provider": PACKAGE, "Version": __version__}]
    (metadata,) = full
    (connection_type,) = metadata["connection-types"]
    assert connection_type["connection-type"] == CONN_TYPE
    assert connection_type["hook-class-name"] == HOOK_CLASS
    assert set(connection_type["conn-fields"]) == set(EXTRA_FIELDS)


def test_providers_widgets_and_behaviours_include_the_connection_form(airflow_cli: AirflowCli) -> None:
    widgets = json_output(airflow_cli("providers", "widgets", "--output", "json"))
    behaviours = json_output(airflow_cli("providers", "behaviours", "--output", "json"))

    ours = {
        widget["connection_parameter_name"]: widget
        for widget in widgets
        if widget["connection_parameter_name"].startswith(f"extra__{CONN_TYPE}__")
    }
    assert set(ours) == {f"extra__{CONN_TYPE}__{name}" for name in EXTRA_FIELDS}
    assert {widget["package_name"] for widget in ours.values()} == {PACKAGE}
    assert {"field_behaviours": CONN_TYPE} in behaviours


PROVIDERS_MANAGER_PROBE = """
import json, warnings

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import airflow
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    if int(airflow.__version__.split(".")[0]) >= 3:
        from airflow.sdk.providers_manager_runtime import ProvidersManagerTaskRuntime

        hooks = ProvidersManagerTaskRuntime().hooks
    else:
        hooks = manager.hooks
    hook = hooks.get("ncp_media_intelligence")
    widgets = {}
    for info in manager.connection_form_widgets.values():
        if info.package_name != "airflow-provider-mi":
            continue
        field = info.field
        if isinstance(field, dict):  # Airflow 3: declared in the provider info ("conn-fields")
            schema = field["schema"]
            widget = {"kind": "schema", "label": schema["title"], "types": schema["type"]}
            widget["description"] = field.get("description")
        else:  # Airflow 2: a WTForms field from the hook's get_connection_form_widgets()
            widget = {"kind": field.field_class.__name__, "label": field.args[0]}
            widget["description"] = field.kwargs.get("description")
        widgets[info.field_name] = widget
    result = {
        "provider": manager.providers["airflow-provider-mi"].data["package-name"],
        "hook": None if hook is None else {
            "class": hook.hook_class_name,
            "conn_id_attribute": hook.connection_id_attribute_name,
            "package": hook.package_name,
            "name": hook.hook_name,
            "testable": hook.connection_testable,
        },
        "behaviour": manager.field_behaviours.get("ncp_media_intelligence"),
        "widgets": widgets,
    }
result["warnings"] = [f"{w.category.__name__}: {w.message}" for w in caught]
print("PROBE " + json.dumps(result))
"""


@pytest.fixture(scope="module")
def providers_manager(airflow_home: Any) -> dict[str, Any]:
    """What ``ProvidersManager`` knows of the provider, read in a fresh Airflow process."""
    process = run_python(PROVIDERS_MANAGER_PROBE)
    assert process.returncode == 0, process.stdout + process.stderr
    (line,) = [line for line in process.stdout.splitlines() if line.startswith("PROBE ")]
    # Airflow routes Python warnings to its logs (stdout on 3.x, stderr on 2.x): keep both.
    logs = process.stdout.replace(line, "") + process.stderr
    return {**json.loads(line.removeprefix("PROBE ")), "logs": logs}


def test_providers_manager_knows_the_hook(providers_manager: dict[str, Any]) -> None:
    assert providers_manager["provider"] == PACKAGE
    assert providers_manager["hook"] == {
        "class": HOOK_CLASS,
        "conn_id_attribute": "mi_conn_id",
        "package": PACKAGE,
        "name": INTEGRATION,
        "testable": True,
    }


def test_providers_manager_has_the_field_behaviour(providers_manager: dict[str, Any]) -> None:
    assert providers_manager["behaviour"] == UI_FIELD_BEHAVIOUR


def test_providers_manager_has_the_extra_fields_with_their_labels(providers_manager: dict[str, Any]) -> None:
    widgets = providers_manager["widgets"]

    assert set(widgets) == set(EXTRA_FIELDS)
    for name, extra in EXTRA_FIELDS.items():
        assert widgets[name]["label"] == extra.label
        assert widgets[name]["description"] == extra.description
    if airflow_major_version() >= 3:
        # Airflow 3 reads the form from the provider info's "conn-fields" (JSON schema).
        assert {name: widget["kind"] for name, widget in widgets.items()} == dict.fromkeys(
            EXTRA_FIELDS, "schema"
        )
        assert widgets["max_attempts"]["types"] == ["integer", "null"]
    else:
        # Airflow 2.11 builds the form from the hook's get_connection_form_widgets().
        assert widgets["verify_ssl"]["kind"] == "BooleanField"
        assert widgets["workspace_name"]["kind"] == "StringField"


def test_providers_manager_loads_the_provider_without_warnings(providers_manager: dict[str, Any]) -> None:
    ours = [warning for warning in providers_manager["warnings"] if OUR_NAMES.search(warning)]
    logged = [line for line in problem_lines(providers_manager["logs"]) if OUR_NAMES.search(line)]

    assert ours == []
    assert logged == []


def test_connections_test_succeeds_against_the_emulator(
    airflow_cli: AirflowCli, mi_emulator: MediaIntelligenceEmulator
) -> None:
    process = airflow_cli(
        "connections", "test", "ncp_mi_default", env={"AIRFLOW__CORE__TEST_CONNECTION": "Enabled"}
    )

    assert process.returncode == 0, process.stdout + process.stderr
    assert "Connection success!" in process.stdout
    assert "Connection failed!" not in process.stdout
    # The command's one signed request reached this test's emulator, and was accepted.
    assert [(entry.endpoint, entry.status) for entry in mi_emulator.state.requests] == [("workspace", 200)]


def test_connections_test_reports_a_wrong_secret(
    airflow_cli: AirflowCli, mi_emulator: MediaIntelligenceEmulator
) -> None:
    conn = {**json.loads(mi_emulator.connection_json()), "password": WRONG_SECRET}
    env = {"AIRFLOW__CORE__TEST_CONNECTION": "Enabled", "AIRFLOW_CONN_NCP_MI_DEFAULT": json.dumps(conn)}

    process = airflow_cli("connections", "test", "ncp_mi_default", env=env)

    output = flat(process.stdout + process.stderr)
    assert "Connection failed!" in output
    assert "Credentials rejected" in output
    assert "secret key (password)" in output
    assert WRONG_SECRET not in output
    if airflow_major_version() >= 3:
        assert process.returncode == 1
    else:
        assert process.returncode == 0  # Airflow 2.11 exits 0 even when the test fails
    assert [(entry.endpoint, entry.status) for entry in mi_emulator.state.requests] == [("workspace", 401)]


def test_connections_test_fails_on_a_host_that_is_not_the_api(airflow_cli: AirflowCli, tmp_path) -> None:
    # Python's own file server answers the probe with its HTML 404 page.
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"http://127.0.0.1:{server.server_address[1]}"
    conn = {"conn_type": "ncp_media_intelligence", "host": host, "login": "key", "password": WRONG_SECRET}
    env = {"AIRFLOW__CORE__TEST_CONNECTION": "Enabled", "AIRFLOW_CONN_NCP_MI_DEFAULT": json.dumps(conn)}
    try:
        process = airflow_cli("connections", "test", "ncp_mi_default", env=env)
    finally:
        server.shutdown()
        server.server_close()

    output = flat(process.stdout + process.stderr)
    assert "Connection failed!" in output
    assert "Credentials accepted" not in output
    assert f"{host} answered HTTP 404, but the body is no API envelope (text/html" in output
    assert "probably not the Media Intelligence API" in output
