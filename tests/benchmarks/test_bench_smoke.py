"""
Smoke test of the benchmark suite: every figure group runs at a tiny size and fills its JSON keys.

No timing is asserted (the suite reports, it does not judge, and sizes here are far too small).
The suite targets Airflow 3 (scripts/bench uses the 3.3 environment); the trigger figure needs
the http provider of the ``bench`` extra and is skipped without it.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from benchmarks import ROOT
from benchmarks.__main__ import main
from benchmarks.figures import GROUPS
from benchmarks.redis_server import ensure_redis_server
from benchmarks.report import FIGURE_KEYS, MEASURED, NOT_YET_MEASURED

pytestmark = pytest.mark.skipif(
    int(metadata.version("apache-airflow").split(".")[0]) < 3,
    reason="the benchmark suite runs on Airflow 3 (scripts/bench uses the 3.3 environment)",
)


def _has_http_provider() -> bool:
    try:
        metadata.version("apache-airflow-providers-http")
    except metadata.PackageNotFoundError:
        return False
    return True


def check_entry(key: str, entry: dict[str, Any]) -> None:
    """The shape every figure's entry has, measured or not."""
    assert {"status", "what", "goal", "sides", "ratio", "met"} <= entry.keys(), key
    if entry["status"] == MEASURED:
        assert len(entry["sides"]) >= 2, key
        assert all(isinstance(side["value"], (int, float)) for side in entry["sides"].values()), key
        assert isinstance(entry["ratio"], float), key
        assert isinstance(entry["met"], bool), key
        assert entry["goal_bound"]["op"] in ("<=", ">="), key
    else:
        assert entry["status"] == NOT_YET_MEASURED, (key, entry.get("reason"))
        assert entry["reason"].startswith("pending phase 2"), key
        assert entry["ratio"] is None and entry["met"] is None, key


def _missing(group: str) -> str | None:
    """Why ``group`` cannot run here, or ``None``."""
    if group == "triggers" and not _has_http_provider():
        return "apache-airflow-providers-http (the bench extra) is not installed"
    if group == "cross_process_rate_limit" and ensure_redis_server() is None:
        return "no redis-server: scripts/install_servers.sh could not install Debian's package"
    return None


@pytest.fixture(scope="module")
def smoke_entries() -> dict[str, dict[str, dict[str, Any]]]:
    """Every group measured at its smoke size, concurrently (each mostly waits on its processes)."""
    groups = [name for name in GROUPS if _missing(name) is None]
    with ThreadPoolExecutor(max_workers=len(groups)) as pool:
        futures = {name: pool.submit(GROUPS[name].measure, smoke=True) for name in groups}
        return {name: future.result() for name, future in futures.items()}


@pytest.mark.parametrize("group", list(GROUPS))
def test_each_group_fills_its_keys(group: str, smoke_entries: dict[str, dict[str, dict[str, Any]]]) -> None:
    if group not in smoke_entries:
        pytest.skip(_missing(group) or "not run")
    entries = smoke_entries[group]
    assert set(entries) == set(GROUPS[group].KEYS)
    for key, entry in entries.items():
        check_entry(key, entry)
        json.dumps(entry)  # plain JSON values only


def test_bulk_upload_uploads_every_image_on_both_sides(
    smoke_entries: dict[str, dict[str, dict[str, Any]]],
) -> None:
    from benchmarks.figures.bulk_upload import SIZES

    entry = smoke_entries["bulk_upload"]["bulk_upload"]
    assert entry["status"] == MEASURED
    size = SIZES[True]
    for side, images in (("bulk", size.images), ("loop", size.loop_images)):
        states = entry["sides"][side]["states_by_run"]
        assert len(states) == size.rounds, side
        assert all(sum(run.values()) == images and not run.get("failed") for run in states), (side, states)
        assert isinstance(entry["sides"][side]["emulator_429s"], int), side
    assert entry["details"]["all_uploaded"] is True
    assert isinstance(entry["details"]["bulk_fraction_of_presigned_limit"], float)


def test_person_sync_registers_every_person_then_only_lists(
    smoke_entries: dict[str, dict[str, dict[str, Any]]],
) -> None:
    from benchmarks.figures.person_sync import SIZES

    entry = smoke_entries["person_sync"]["person_sync"]
    assert entry["status"] == MEASURED
    size = SIZES[True]
    first, second = entry["sides"]["first_run"], entry["sides"]["second_run"]
    assert len(first["counts_by_run"]) == size.rounds
    for counts in first["counts_by_run"]:
        assert counts == {
            "persons": size.persons,
            "created": size.persons,
            "attached": 0,
            "unchanged": 0,
            "failed": 0,
        }
    for admitted in first["emulator_admitted_by_run"]:
        assert admitted["list-persons"] == 1
        assert admitted["compare"] == admitted["create-person"] == size.persons
        assert admitted["presigned-url"] == admitted["storage"] == size.photos
    assert all(counts["unchanged"] == size.persons for counts in second["counts_by_run"])
    assert second["emulator_admitted_by_run"] == [{"list-persons": 1}] * size.rounds
    assert entry["details"]["second_run_writes"] == 0
    assert entry["met_by_criterion"]["second_run_no_writes"] is True
    assert entry["met_by_criterion"]["all_created_then_unchanged"] is True
    # (persons x 2 + 1 list) person calls at 10 per s: (2 p + 1 - 1) // 10 s, plus the latency.
    assert entry["sides"]["minimum"]["value"] == pytest.approx((2 * size.persons) // 10 + 0.05)


def test_cross_process_rate_limit_shares_the_limit_through_redis(
    smoke_entries: dict[str, dict[str, dict[str, Any]]],
) -> None:
    from benchmarks.figures.cross_process_rate_limit import SIDES, SIZES

    if "cross_process_rate_limit" not in smoke_entries:
        pytest.skip(_missing("cross_process_rate_limit") or "not run")
    entry = smoke_entries["cross_process_rate_limit"]["cross_process_rate_limit"]
    assert entry["status"] == MEASURED
    size = SIZES[True]
    for side in SIDES:
        measured_side = entry["sides"][side]
        assert measured_side["calls_answered"] == size.processes * size.calls, side
        assert measured_side["client_other_failures"] == 0, (
            side,
            measured_side["client_other_failures_first"],
        )
        assert len(measured_side["per_process"]) == size.processes, side
        assert isinstance(measured_side["emulator_429s"], int), side
    # The limiter's promise, whatever the timing: never more slots held than the limit, so no 429.
    assert entry["sides"]["redis"]["limiter"]["max_slots_held_at_once"] <= size.limit_calls
    assert entry["sides"]["redis"]["emulator_429s"] == 0
    cost = entry["details"]["cost"]
    assert cost["limiter_classes"] == {"in_process": "SharedRateLimiter", "redis": "RedisRateLimiter"}
    for kind in ("sync", "async"):
        assert isinstance(cost["added_cpu_us_per_call"][kind], float), kind
        assert isinstance(cost["added_latency_us_per_call"][kind], float), kind


def test_groups_cover_every_figure_key() -> None:
    assert sorted(key for module in GROUPS.values() for key in module.KEYS) == sorted(FIGURE_KEYS)


def test_the_command_writes_every_key_with_date_and_machine(tmp_path: Path) -> None:
    out = tmp_path / "smoke.json"
    assert main(["--smoke", "--only", "rate_limit", "--out", str(out)]) == 0
    document = json.loads(out.read_text())
    assert set(FIGURE_KEYS) <= document.keys()
    assert document["date"] and document["machine"]["cores"] and document["machine"]["python"]


def test_the_committed_results_have_every_key() -> None:
    document = json.loads((ROOT / "benchmarks" / "results" / "latest.json").read_text())
    assert not document["run"]["smoke"]
    for key in FIGURE_KEYS:
        check_entry(key, document[key])


def test_bulk_steady_state_completes_every_image_through_the_manifest(
    smoke_entries: dict[str, dict[str, dict[str, Any]]],
) -> None:
    from benchmarks.figures.bulk_steady_state import SIZES

    entry = smoke_entries["bulk_steady_state"]["bulk_steady_state"]
    assert entry["status"] == MEASURED
    size = SIZES[True]
    details = entry["details"]
    assert details["states_by_run"] == [{"completed": size.images, "waiting": 0, "failed": 0}] * size.rounds
    assert details["completions_answered_by_run"] == [size.images] * size.rounds
    for admitted in details["emulator_admitted_by_run"]:
        assert admitted["presigned-url"] == admitted["storage"] == admitted["complete"] == size.images
    assert all(size_bytes > 0 for size_bytes in details["manifest_bytes_by_run"]), "the manifest was written"
    assert isinstance(entry["sides"]["sustained"]["emulator_429s"], int)
