"""The emulator's fault catalogue: building faults by name, scripts, and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from email.utils import parsedate_to_datetime

import pytest
import requests
from emulator_command import emulator_command

from airflow_provider_mi.core import endpoints
from airflow_provider_mi.core.signing import signed_headers
from airflow_provider_mi.emulator import (
    DEFAULT_ACCESS_KEY,
    DEFAULT_SECRET_KEY,
    MediaIntelligenceEmulator,
    faults,
)

TIMEOUT = 10
COMPLETE = endpoints.complete_upload_request("fault-ws", "persons/thumbnails/a.png")


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False
        yield session


def post_complete(
    http: requests.Session, url: str, request: endpoints.ApiRequest = COMPLETE
) -> requests.Response:
    headers = signed_headers(request.method, request.path, DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY)
    return http.post(
        request.url(url), data=request.body, headers=headers, timeout=TIMEOUT, allow_redirects=False
    )


@pytest.mark.parametrize(
    ("kind", "status", "name"),
    [
        ("503", 503, "503"),
        ("429=5", 429, "429"),
        ("429-date=3", 429, "429-date"),
        ("reset", None, "reset"),
        ("slow=0.5", None, "slow"),
        ("truncated", None, "truncated"),
        ("invalid-json", 200, "invalid-json"),
        ("html-502", 502, "html-502"),
        ("error-code=20001", 200, "error-code"),
        ("no-result", 200, "no-result"),
        ("no-upload-status", 200, "no-upload-status"),
        ("unknown-status=QUEUED", 200, "unknown-status"),
        ("redirect=http://127.0.0.1:9/x", 302, "redirect"),
        ("pass", None, "pass"),
    ],
)
def test_build_by_name(kind: str, status: int | None, name: str) -> None:
    fault = faults.build(kind)
    assert (fault.status, fault.name) == (status, name)


def test_build_arguments_reach_the_answer() -> None:
    assert ("Retry-After", "5") in faults.build("429=5").headers
    assert faults.build("429-date=3").retry_after_date == 3.0
    assert faults.build("slow=0.5").delay == 0.5
    assert json.loads(faults.build("error-code=20001").body)["code"] == "20001"
    assert json.loads(faults.build("unknown-status=QUEUED").body)["result"]["uploadStatus"] == "QUEUED"
    assert ("Location", "http://127.0.0.1:9/x") in faults.build("redirect=http://127.0.0.1:9/x").headers
    assert ("Location", faults.DEFAULT_REDIRECT) in faults.build("redirect").headers


@pytest.mark.parametrize(
    ("kind", "problem"),
    [("teapot", "unknown fault 'teapot'"), ("200", "unknown fault '200'"), ("slow=-1", "not a number")],
)
def test_build_refuses_unknown_kinds(kind: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        faults.build(kind)


def test_parse_option() -> None:
    script = faults.parse_option("complete:503:2")
    assert (script.endpoint, [f.status for f in script.faults], script.thumbnail_key) == (
        "complete",
        [503, 503],
        None,
    )
    assert [f.name for f in faults.parse_option("storage:reset").faults] == ["reset"]
    assert faults.parse_option("presigned-url:429=7:1").faults[0].headers[-1] == ("Retry-After", "7")


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("complete", "not ENDPOINT:KIND"),
        ("complete:503:two", "not ENDPOINT:KIND"),
        ("status:503", "unknown endpoint 'status'"),
        ("complete:503:0", "times must be a positive whole number"),
        ("complete:redirect=http://h:1", "not ENDPOINT:KIND"),
    ],
)
def test_parse_option_errors_say_what_is_wrong(spec: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        faults.parse_option(spec)


def test_load_script(tmp_path) -> None:
    path = tmp_path / "faults.json"
    path.write_text(
        json.dumps(
            [
                {"endpoint": "complete", "fault": "503", "times": 2},
                {"endpoint": "complete", "fault": "redirect=http://127.0.0.1:9/x", "thumbnail_key": "k.png"},
            ]
        )
    )
    first, second = faults.load_script(path)
    assert (first.endpoint, len(first.faults), first.thumbnail_key) == ("complete", 2, None)
    assert (second.faults[0].status, second.thumbnail_key) == (302, "k.png")

    path.write_text(json.dumps([{"endpoint": "complete", "fault": "503", "time": 2}]))
    with pytest.raises(ValueError, match=r"entry 1 has unknown fields \['time'\]"):
        faults.load_script(path)
    path.write_text(json.dumps({"endpoint": "complete"}))
    with pytest.raises(ValueError, match="expected a JSON list of objects"):
        faults.load_script(path)


def test_faults_per_key_come_before_faults_per_endpoint(http: requests.Session) -> None:
    other_key = endpoints.complete_upload_request("fault-ws", "persons/thumbnails/b.png")
    with MediaIntelligenceEmulator() as emulator:
        emulator.state.inject("complete", faults.http_error(500))
        emulator.state.inject("complete", faults.http_error(503), thumbnail_key="persons/thumbnails/a.png")
        statuses = [
            post_complete(http, emulator.url, request).status_code
            for request in (other_key, COMPLETE, COMPLETE)
        ]
    assert statuses == [500, 503, 200]
    assert [entry.fault for entry in emulator.state.requests] == ["500", "503", None]


def test_a_retry_after_date_is_computed_when_answering(http: requests.Session) -> None:
    with MediaIntelligenceEmulator(clock_offset=3600) as emulator:
        emulator.state.inject("complete", faults.rate_limited_until(30))
        response = post_complete(http, emulator.url)
    server_now = parsedate_to_datetime(response.headers["Date"]).timestamp()
    retry_at = parsedate_to_datetime(response.headers["Retry-After"]).timestamp()
    assert response.status_code == 429
    assert retry_at - server_now == 30


def test_a_truncated_empty_answer_is_still_cut_short(http: requests.Session) -> None:
    with MediaIntelligenceEmulator() as emulator:
        emulator.state.inject("storage", faults.truncated())
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            http.put(f"{emulator.url}/_storage/unknown-token", data=b"x", timeout=TIMEOUT)
    assert [(entry.endpoint, entry.status, entry.fault) for entry in emulator.state.requests] == [
        ("storage", 403, "truncated")
    ]


def test_command_line_scripts_faults(http: requests.Session, tmp_path) -> None:
    script = tmp_path / "faults.json"
    script.write_text(json.dumps([{"endpoint": "complete", "fault": "no-result"}]))
    args = ["--fault", "complete:503:2", "--fault", "complete:429=3", "--faults", str(script)]
    with emulator_command(*args) as command:
        printed = [command.next_line() for _ in range(5)]
        url = printed[0].rsplit(" ", 1)[1].strip()
        assert printed[2:] == [
            "Scripted faults on complete: 503, 503\n",
            "Scripted faults on complete: 429\n",
            "Scripted faults on complete: no-result\n",
        ]
        answers = [post_complete(http, url) for _ in range(5)]
        assert [answer.status_code for answer in answers] == [503, 503, 429, 200, 200]
        assert answers[2].headers["Retry-After"] == "3"
        assert "result" not in answers[3].json()
        assert answers[4].json()["result"]["uploadStatus"] == "FAILED"
        assert command.stop() == 0


def test_command_line_refuses_a_bad_fault() -> None:
    command = [sys.executable, "-m", "airflow_provider_mi.emulator", "--fault", "complete:teapot"]
    process = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert process.returncode == 2
    assert "unknown fault 'teapot'" in process.stderr
