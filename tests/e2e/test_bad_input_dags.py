"""Bad values reaching the operators and the sensor at run time, in real Airflow: refused, nothing sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from airflow_cli import run_dag
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
}


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
