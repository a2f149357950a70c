"""The emulator's gateway throttle, added latency and control routes, over real sockets on 127.0.0.1."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from emulator_command import emulator_command
from PIL import Image

from airflow_provider_mi.core import endpoints
from airflow_provider_mi.core.images import check_image
from airflow_provider_mi.core.responses import parse_api_response
from airflow_provider_mi.emulator import DEFAULT_ACCESS_KEY, DEFAULT_SECRET_KEY, MediaIntelligenceEmulator
from airflow_provider_mi.emulator.__main__ import main
from airflow_provider_mi.emulator.state import (
    ENDPOINTS,
    SIGNED_ENDPOINTS,
    EmulatorState,
    parse_rate_limit,
    valid_thumbnail,
)
from airflow_provider_mi.exceptions import MediaIntelligenceApiError

TIMEOUT = 10
WORKSPACE = "limits-ws"
KEY = "persons/thumbnails/a.png"
COMPLETE = endpoints.complete_upload_request(WORKSPACE, KEY)
PRESIGN = endpoints.presigned_url_request(WORKSPACE, "face.png")
THROTTLED = {"error": {"errorCode": "420", "message": "Rate Limited"}}


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.trust_env = False  # never through a proxy: 127.0.0.1 only
        yield session


def call(
    http: requests.Session,
    url: str,
    request: endpoints.ApiRequest = COMPLETE,
    secret_key: str = DEFAULT_SECRET_KEY,
) -> requests.Response:
    """Send one API request, signed now (with ``secret_key``)."""
    headers = request.headers(DEFAULT_ACCESS_KEY, secret_key)
    return http.request(request.method, request.url(url), data=request.body, headers=headers, timeout=TIMEOUT)


def upload_status(response: requests.Response) -> tuple[str, str | None]:
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    return result["uploadStatus"], result["uploadMessage"]


def admitted(**counts: int) -> dict[str, int]:
    """The ``admitted`` of a stats answer: ``counts`` per endpoint (``_`` for ``-``), 0 for the others."""
    return {name: counts.get(name.replace("-", "_"), 0) for name in ENDPOINTS}


def throttled(**counts: int) -> dict[str, int]:
    """The ``throttled`` of a stats answer: ``counts`` per signed endpoint, 0 for the others."""
    return {name: counts.get(name.replace("-", "_"), 0) for name in SIGNED_ENDPOINTS}


def stats(http: requests.Session, url: str) -> dict[str, Any]:
    response = http.get(f"{url}/_emulator/stats", timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()


# --- the rate limits ------------------------------------------------------------------------------


def test_rate_limit_admits_calls_per_window_then_429_until_the_window_passes(http):
    with MediaIntelligenceEmulator(rate_limits={"complete": (5, 1.0)}) as emulator:
        first = [call(http, emulator.url) for _ in range(5)]
        last_admitted = time.monotonic()  # the 5 calls were admitted before this
        refused = [call(http, emulator.url) for _ in range(2)]  # within 1 s of the first admission

        assert [response.status_code for response in first] == [200] * 5
        assert [response.status_code for response in refused] == [429, 429]
        for response in refused:
            assert response.json() == THROTTLED
            assert response.headers["Retry-After"] == "1"  # ceil of less than the 1 s period
        with pytest.raises(MediaIntelligenceApiError) as info:
            parse_api_response(refused[0].status_code, refused[0].headers, refused[0].content)
        assert (info.value.code, info.value.retry_after, info.value.retryable) == ("420", 1.0, True)

        # Once every admitted call has left the window, a whole window's worth is admitted again:
        # the refused calls, made later, did not count.
        time.sleep(max(0.0, last_admitted + 1.0 - time.monotonic()))
        again = [call(http, emulator.url) for _ in range(5)]
        assert [response.status_code for response in again] == [200] * 5

        assert stats(http, emulator.url)["admitted"]["complete"] == 10
        assert stats(http, emulator.url)["throttled"] == throttled(complete=2)
        assert [entry.status for entry in emulator.state.requests_to("complete")] == [200] * 5 + [
            429,
            429,
        ] + [200] * 5


def test_rate_limits_are_per_endpoint_and_storage_is_never_throttled(http):
    with MediaIntelligenceEmulator(rate_limits={"presigned_url": (1, 60)}) as emulator:
        presigned = [call(http, emulator.url, PRESIGN) for _ in range(2)]
        assert [response.status_code for response in presigned] == [200, 429]
        assert presigned[1].json() == THROTTLED
        assert 1 <= int(presigned[1].headers["Retry-After"]) <= 60

        assert [call(http, emulator.url).status_code for _ in range(3)] == [200] * 3
        upload_url = presigned[0].json()["result"]["url"]
        assert http.put(upload_url, data=valid_thumbnail(), timeout=TIMEOUT).status_code == 200
        assert stats(http, emulator.url) == {
            "admitted": admitted(presigned_url=1, complete=3, storage=1),
            "throttled": throttled(presigned_url=1),
            "requests": 6,
        }


def test_unsigned_and_badly_signed_calls_are_refused_with_401_before_the_throttle_counts_them(http):
    with MediaIntelligenceEmulator(rate_limits={"complete": (2, 60)}) as emulator:
        unsigned = http.post(COMPLETE.url(emulator.url), data=COMPLETE.body, timeout=TIMEOUT)
        badly_signed = call(http, emulator.url, secret_key="wrong")
        signed = [call(http, emulator.url) for _ in range(3)]
        assert (unsigned.status_code, badly_signed.status_code) == (401, 401)
        assert badly_signed.json()["error"]["errorCode"] == "200"
        assert [response.status_code for response in signed] == [200, 200, 429]
        counts = stats(http, emulator.url)
        assert (counts["admitted"]["complete"], counts["throttled"]["complete"]) == (2, 1)
        assert counts["requests"] == 5


def test_the_window_is_a_sliding_log_of_admitted_calls():
    state = EmulatorState(rate_limits={"complete": (2, 60)})
    assert [state.admit("complete"), state.admit("complete")] == [None, None]
    retry_after = state.admit("complete")
    assert retry_after is not None
    assert 0 < retry_after <= 60
    assert state.admit("presigned-url") is None  # no limit
    assert state.stats() == {
        "admitted": admitted(presigned_url=1, complete=2),
        "throttled": throttled(complete=1),
        "requests": 0,
    }


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"rate_limits": {"storage": (1, 1)}}, "cannot rate-limit 'storage'"),
        ({"rate_limits": {"persons": (1, 1)}}, "cannot rate-limit 'persons'"),
        ({"rate_limits": {"complete": (0, 1)}}, "calls must be a positive whole number"),
        ({"rate_limits": {"complete": (1.5, 1)}}, "calls must be a positive whole number"),
        ({"rate_limits": {"complete": (1, 0)}}, "period must be a positive number"),
        ({"rate_limits": {"complete": (1, float("inf"))}}, "period must be a positive number"),
        ({"latency_seconds": -1}, "latency_seconds must be a non-negative number"),
    ],
)
def test_options_are_checked(options: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        EmulatorState(**options)


def test_endpoint_names_are_normalised() -> None:
    state = EmulatorState(rate_limits={"presigned_url": (50, 1), "complete": (1000, 60)})
    assert state.rate_limits == {"presigned-url": (50, 1.0), "complete": (1000, 60.0)}


# --- latency --------------------------------------------------------------------------------------


def test_latency_delays_every_answer(http):
    latency = 0.2
    with MediaIntelligenceEmulator(latency_seconds=latency) as emulator:

        def timed(send: Any) -> requests.Response:
            started = time.monotonic()
            response = send()
            assert time.monotonic() - started >= latency
            return response

        presigned = timed(lambda: call(http, emulator.url, PRESIGN))
        upload_url = presigned.json()["result"]["url"]
        assert timed(lambda: http.put(upload_url, data=valid_thumbnail(), timeout=TIMEOUT)).ok
        key = presigned.json()["result"]["thumbnailKey"]
        completed = timed(lambda: call(http, emulator.url, endpoints.complete_upload_request(WORKSPACE, key)))
        assert upload_status(completed) == ("COMPLETED", None)
        assert timed(lambda: call(http, emulator.url, secret_key="wrong")).status_code == 401


# --- the control routes ---------------------------------------------------------------------------


def test_stats_count_api_requests_only_and_control_routes_need_no_signature_nor_count(http):
    with MediaIntelligenceEmulator(rate_limits={"complete": (1, 60)}) as emulator:
        assert stats(http, emulator.url) == {
            "admitted": admitted(),
            "throttled": throttled(),
            "requests": 0,
        }
        for _ in range(3):  # none of these is throttled, logged or counted
            stats(http, emulator.url)
            assert http.post(f"{emulator.url}/_emulator/complete-all", timeout=TIMEOUT).ok
        assert emulator.state.requests == []

        assert call(http, emulator.url).status_code == 200
        assert http.put(f"{emulator.url}/_storage/unknown", data=b"x", timeout=TIMEOUT).status_code == 403
        not_found = endpoints.ApiRequest("POST", f"/api/v1/workspaces/{WORKSPACE}/assets", b"{}")
        assert call(http, emulator.url, not_found).status_code == 404
        assert stats(http, emulator.url) == {
            "admitted": admitted(complete=1, storage=1),
            "throttled": throttled(),
            "requests": 3,
        }
        assert stats(http, emulator.url) == emulator.state.stats()
        assert http.get(f"{emulator.url}/_emulator/nothing", timeout=TIMEOUT).status_code == 404


def test_complete_all_makes_every_hidden_thumbnail_visible_at_once(http):
    with MediaIntelligenceEmulator(visibility_delay=600) as emulator:
        presigned = call(http, emulator.url, PRESIGN).json()["result"]
        assert http.put(presigned["url"], data=valid_thumbnail(), timeout=TIMEOUT).status_code == 200
        emulator.state.store_thumbnail(
            WORKSPACE, "persons/thumbnails/checks.png", valid_thumbnail(), delay=0, hidden_checks=5
        )
        emulator.state.store_thumbnails(
            WORKSPACE, ["persons/thumbnails/b.png", "persons/thumbnails/c.png"], visible=False
        )
        keys = [
            presigned["thumbnailKey"],
            "persons/thumbnails/checks.png",
            "persons/thumbnails/b.png",
            "persons/thumbnails/c.png",
        ]
        requests_ = [endpoints.complete_upload_request(WORKSPACE, key) for key in keys]

        assert {upload_status(call(http, emulator.url, r)) for r in requests_} == {
            ("FAILED", "FILE_NOT_EXIST")
        }
        response = http.post(f"{emulator.url}/_emulator/complete-all", timeout=TIMEOUT)
        assert response.json() == {"made_visible": 4}
        assert {upload_status(call(http, emulator.url, r)) for r in requests_} == {("COMPLETED", None)}
        assert emulator.state.make_all_visible() == 0


def test_thumbnails_route_stores_valid_thumbnails_without_an_upload(http):
    keys = [f"persons/thumbnails/wait-{number}.png" for number in range(5000)]
    with MediaIntelligenceEmulator() as emulator:
        response = http.post(
            f"{emulator.url}/_emulator/thumbnails",
            json={"workspace": WORKSPACE, "keys": keys, "visible": False},
            timeout=TIMEOUT,
        )
        assert response.json() == {"stored": 5000}
        first, last = (endpoints.complete_upload_request(WORKSPACE, key) for key in (keys[0], keys[-1]))
        assert upload_status(call(http, emulator.url, first)) == ("FAILED", "FILE_NOT_EXIST")

        visible = http.post(
            f"{emulator.url}/_emulator/thumbnails",
            json={"workspace": "other-ws", "keys": [keys[0]]},
            timeout=TIMEOUT,
        )
        assert visible.json() == {"stored": 1}
        other = endpoints.complete_upload_request("other-ws", keys[0])
        assert upload_status(call(http, emulator.url, other)) == ("COMPLETED", None)

        assert emulator.state.make_all_visible() == 5000
        assert upload_status(call(http, emulator.url, last)) == ("COMPLETED", None)
        assert emulator.state.requests_to("storage") == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"not json", "expected a JSON object"),
        (b"[]", "expected a JSON object"),
        (b'{"workspace": "ws-a", "keys": [], "visble": false}', "unknown fields ['visble']"),
        (b'{"keys": ["k"]}', "workspace must be a valid workspace name"),
        (b'{"workspace": "../x", "keys": ["k"]}', "workspace must be a valid workspace name"),
        (b'{"workspace": "ws-a", "keys": "k"}', "keys must be a list of non-empty texts"),
        (b'{"workspace": "ws-a", "keys": [""]}', "keys must be a list of non-empty texts"),
        (b'{"workspace": "ws-a", "keys": ["k"], "visible": "no"}', "visible must be true or false"),
    ],
)
def test_thumbnails_route_says_what_is_wrong(http, body: bytes, problem: str) -> None:
    with MediaIntelligenceEmulator() as emulator:
        response = http.post(f"{emulator.url}/_emulator/thumbnails", data=body, timeout=TIMEOUT)
    assert response.status_code == 400
    assert problem in response.json()["error"]


def test_the_ready_made_thumbnail_is_a_real_image_the_api_accepts() -> None:
    data = valid_thumbnail()
    assert check_image(data).problem is None
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert (image.format, image.size) == ("PNG", (256, 256))


# --- the command line -----------------------------------------------------------------------------


def test_parse_rate_limit() -> None:
    assert parse_rate_limit("complete=1000/60") == ("complete", (1000, 60.0))
    assert parse_rate_limit("presigned_url=50/1") == ("presigned-url", (50, 1.0))
    assert parse_rate_limit("presigned-url=5/0.5") == ("presigned-url", (5, 0.5))


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["--rate-limit", "complete"], "argument --rate-limit: 'complete' is not ENDPOINT=CALLS/SECONDS"),
        (["--rate-limit", "complete=10"], "is not ENDPOINT=CALLS/SECONDS"),
        (["--rate-limit", "complete=x/60"], "calls must be a positive whole number, got 'x'"),
        (["--rate-limit", "complete=0/60"], "calls must be a positive whole number, got 0"),
        (["--rate-limit", "complete=10/soon"], "the period must be a number of seconds, got 'soon'"),
        (["--rate-limit", "complete=10/0"], "the period must be a positive number of seconds"),
        (["--rate-limit", "storage=10/1"], "cannot rate-limit 'storage'"),
        (["--rate-limit", "complete=1/1", "--rate-limit", "complete=2/1"], "given twice for complete"),
        (["--latency", "-1"], "--latency must be a non-negative number of seconds"),
        (["--latency", "soon"], "argument --latency: invalid float value: 'soon'"),
    ],
)
def test_command_line_refuses_bad_limits(capsys, argv: list[str], problem: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert problem in capsys.readouterr().err


def test_command_line_rate_limits_and_latency(http) -> None:
    args = ["--rate-limit", "complete=1/60", "--rate-limit", "presigned_url=50/1", "--latency", "0.2"]
    with emulator_command(*args) as command:
        printed = [command.next_line() for _ in range(5)]
        url = printed[0].rsplit(" ", 1)[1].strip()
        assert printed[2:] == [
            "Rate limit on complete: 1 calls per 60 s\n",
            "Rate limit on presigned-url: 50 calls per 1 s\n",
            "Latency: 0.2 s\n",
        ]
        started = time.monotonic()
        assert call(http, url).status_code == 200
        assert time.monotonic() - started >= 0.2
        assert call(http, url).status_code == 429
        assert call(http, url, PRESIGN).status_code == 200
        assert stats(http, url)["throttled"] == throttled(complete=1)
        assert command.stop() == 0
