"""Bad values reaching the operators and the sensor at run time, in real Airflow: refused, nothing sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_cli import airflow_major_version, run_airflow, run_dag
from airflow_provider_mi.emulator import MediaIntelligenceEmulator
from helpers import png, task_states, try_numbers

DAGS = Path(__file__).parent / "bad_input_dags"

#: Each task, and what its failure says (naming the field).
REFUSALS = {
    "workspace_traversal": "workspace_name '../admin' is not a valid workspace name",
    "workspace_encoded": "workspace_name '%2e%2e' is not a valid workspace name",
    "workspace_empty": "workspace_name is empty",
    "key_with_crlf": "thumbnail_key 'k.png\\r\\nX-Injected: 1' contains the control character '\\r'",
    "key_too_long": "thumbnail_key is 1025 bytes long",
    "conn_bad_timeout": "Connection extra 'timeout' is -1; it must be a positive number of seconds",
    "conn_plain_http": "Connection host 'http://example.com' uses plain http to a non-loopback host",
    "conn_no_secret": "Connection 'mi_no_secret' has no secret key",
    "file_missing": "missing.png' cannot be read: No such file or directory",
    "file_is_a_directory": "' cannot be read: Is a directory",
    "file_over_5_mb": "'big.png' would be refused (OVER_SIZE_LIMIT)",
    "file_not_an_image": "'notes.png' would be refused (FILE_FORMAT_NOT_SUPPORT)",
    "file_name_traversal": "file_name '../../etc/passwd' is not a plain file name",
    "sensor_key_with_crlf": "thumbnail_key 'k.png\\r\\nX-Injected: 1' contains the control character",
    "deferrable_workspace_encoded": "workspace_name '%2e%2e' is not a valid workspace name",
    "register_name_blank": "name is empty. Pass a non-blank value such as 'Hong Gildong'",
    "register_name_not_text": "name must be a string, got int 42",
    "register_name_too_long": "name is 51 characters long; a person's name has at most 50",
    "register_description_blank": "description is empty",
    "register_description_too_long": "description is 701 characters long; a description has at most 700",
    "register_no_thumbnails": "thumbnail_keys is empty; a person needs at least one thumbnail",
    "register_101_thumbnails": "thumbnail_keys has 101 keys; a person has at most 100 thumbnails",
    "register_keys_not_a_list": "thumbnail_keys is 'persons/thumbnails/bad-input.png'; give a list",
    "register_key_not_text": "thumbnail_keys must be a string, got int 42",
    "register_key_with_crlf": "thumbnail_keys 'k.png\\r\\nX-Injected: 1' contains the control character",
    "register_key_too_long": "thumbnail_keys is 1025 bytes long",
    "register_workspace_traversal": "workspace_name '../admin' is not a valid workspace name",
}

#: Bad values given to an operator's constructor, each in a DAG file of its own (the first error of a
#: file stops its import), and what the import error says (naming the field).
PARSE_REFUSALS = {
    "register_on_match_unknown": ({"on_match": "merge"}, "on_match is 'merge'; use one of ['attach', 'fail'"),
    "register_score_below_80": ({"score_threshold": 79}, "score_threshold is 79; it must be a whole number"),
    "register_score_above_100": ({"score_threshold": 101}, "score_threshold is 101; it must be a whole"),
    "register_score_as_text": ({"score_threshold": "90"}, "score_threshold is '90'; it must be a whole"),
}
PARSED_DAG = """
from datetime import datetime
from airflow.providers.common.compat.sdk import DAG
from airflow_provider_mi.operators.persons import MediaIntelligenceRegisterPersonOperator

with DAG(dag_id={dag_id!r}, schedule=None, start_date=datetime(2026, 1, 1), catchup=False):
    MediaIntelligenceRegisterPersonOperator(task_id="register", thumbnail_keys=["k.png"], **{kwargs!r})
"""


@pytest.fixture(scope="module")
def import_errors(airflow_home, tmp_path_factory) -> dict[str, str]:
    """Parse one DAG file per :data:`PARSE_REFUSALS` with Airflow; return each file's import error."""
    folder = tmp_path_factory.mktemp("bad-parse-dags")
    for dag_id, (kwargs, _) in PARSE_REFUSALS.items():
        (folder / f"{dag_id}.py").write_text(PARSED_DAG.format(dag_id=dag_id, kwargs=kwargs))
    local = ["--local"] if airflow_major_version() >= 3 else []  # Airflow 3 reads the database else
    process = run_airflow(
        ["dags", "list-import-errors", *local, "-o", "json"], {"AIRFLOW__CORE__DAGS_FOLDER": str(folder)}
    )
    assert process.returncode == 1, process.stderr  # the command's way of saying it found errors
    listed = json.loads(process.stdout.splitlines()[-1])  # Airflow 2.11 logs to stdout before it
    return {Path(entry["filepath"]).stem: entry["error"] for entry in listed}


@pytest.mark.parametrize("dag_id", PARSE_REFUSALS)
def test_a_bad_constructor_value_fails_the_import_naming_the_field(import_errors, dag_id) -> None:
    assert PARSE_REFUSALS[dag_id][1] in import_errors[dag_id]
    assert "InvalidParameterError" in import_errors[dag_id]


@pytest.fixture(scope="module")
def bad_input_run(airflow_home, tmp_path_factory):
    """Run ``mi_bad_input`` once against an emulator of its own."""
    folder = tmp_path_factory.mktemp("bad-input-files")
    (folder / "big.png").write_bytes(png(300, 300, pad_to=5 * 1024 * 1024 + 1))
    (folder / "notes.png").write_text("name,face\nalice,1\n")
    (folder / "face.png").write_bytes(png(300, 300))
    conf = {"folder": str(folder), "big": str(folder / "big.png"), "text": str(folder / "notes.png")}
    conf["image"] = str(folder / "face.png")
    with MediaIntelligenceEmulator() as emulator:
        conn = json.loads(emulator.connection_json())
        env = {
            **emulator.airflow_env(),
            "AIRFLOW_CONN_MI_BAD_TIMEOUT": json.dumps({**conn, "extra": {"timeout": -1}}),
            "AIRFLOW_CONN_MI_PLAIN_HTTP": json.dumps({**conn, "host": "http://example.com"}),
            "AIRFLOW_CONN_MI_NO_SECRET": json.dumps({**conn, "password": None}),
        }
        result = run_dag(DAGS, "mi_bad_input", env=env, conf=conf)
    return (
        result,
        task_states(airflow_home, "mi_bad_input"),
        emulator,
        try_numbers(airflow_home, "mi_bad_input"),
    )


def test_every_task_failed_before_sending_anything(bad_input_run) -> None:
    result, states, emulator, _ = bad_input_run
    assert states == dict.fromkeys(REFUSALS, "failed"), result.output[-3000:]
    assert emulator.state.requests == []


def test_operators_with_retries_failed_at_the_first_try(bad_input_run) -> None:
    *_, tries = bad_input_run
    operators = [task for task in REFUSALS if not task.startswith(("sensor", "deferrable"))]
    assert {task: tries[task] for task in operators} == dict.fromkeys(operators, 1)


@pytest.mark.parametrize("task_id", REFUSALS)
def test_the_failure_names_the_field(bad_input_run, task_id) -> None:
    result, *_ = bad_input_run
    assert REFUSALS[task_id] in result.output
