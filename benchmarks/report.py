"""What a figure reports (its JSON entry), the machine it ran on, and the printed table."""

from __future__ import annotations

import datetime
import json
import os
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

#: Every figure key of issue 5, in the issue's order: the JSON always holds them all.
FIGURE_KEYS = (
    "signed_call_cpu_ratio",
    "trigger_cpu_per_poll_ratio",
    "trigger_rss_ratio",
    "rate_limit",
    "many_waiters",
    "import_time_ratio",
    "sensor_latency",
    "bulk_upload",
    "person_sync",
    "cross_process_rate_limit",
    "bulk_steady_state",
)

MEASURED = "measured"
NOT_YET_MEASURED = "not yet measured"
FAILED = "failed"


@dataclass(frozen=True)
class Goal:
    """
    A bound on a figure's ratio.

    :param op: ``<=`` or ``>=``.
    :param bound: the ratio's bound.
    :param text: the goal as the issue states it.
    """

    op: str
    bound: float
    text: str

    def met(self, value: float | None) -> bool | None:
        """Whether ``value`` meets the goal (``None`` if nothing was measured)."""
        if value is None:
            return None
        return value <= self.bound if self.op == "<=" else value >= self.bound


def measured(
    *,
    what: str,
    method: str,
    unit: str,
    sides: dict[str, dict[str, Any]],
    ratio: float | None,
    ratio_of: str,
    goal: Goal,
    details: dict[str, Any] | None = None,
    criteria: dict[str, bool | None] | None = None,
    also: str = "",
) -> dict[str, Any]:
    """
    The JSON entry of a measured figure.

    :param sides: each compared thing's measurements; its ``value`` (in ``unit``) is the headline.
    :param ratio_of: which side's value is divided by which, e.g. ``hook / raw_requests``.
    :param criteria: other conditions of the goal than the ratio's bound, by name (e.g. no 429s):
        the figure is ``met`` when the ratio and every one of them are; ``met_by_criterion`` has each.
    :param also: a few words the table shows after the sides, e.g. ``3 429s``.
    """
    ratio_met = goal.met(ratio)
    by_criterion = {"ratio": ratio_met, **(criteria or {})}
    met = ratio_met if criteria is None else all(value is True for value in by_criterion.values())
    entry: dict[str, Any] = {
        "status": MEASURED,
        "what": what,
        "method": method,
        "unit": unit,
        "sides": sides,
        "ratio": None if ratio is None else round(ratio, 4),
        "ratio_of": ratio_of,
        "goal": goal.text,
        "goal_bound": {"op": goal.op, "ratio": goal.bound},
        "met": met,
        "details": details or {},
    }
    if criteria is not None:
        entry["met_by_criterion"] = by_criterion
    if also:
        entry["also"] = also
    return entry


def not_measured(
    *, what: str, goal: str, reason: str, harness: str, status: str = NOT_YET_MEASURED
) -> dict[str, Any]:
    """The JSON entry of a figure not measured in this run, saying why."""
    return {
        "status": status,
        "what": what,
        "goal": goal,
        "reason": reason,
        "harness": harness,
        "sides": {},
        "ratio": None,
        "met": None,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, Any]:
    """CPU model, cores, memory, OS, Python and the versions of what is measured."""
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "memory_gib": _memory_gib(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            name: _version(name)
            for name in (
                "apache-airflow",
                "apache-airflow-task-sdk",
                "apache-airflow-providers-http",
                "airflow-provider-mi",
                "aiohttp",
                "requests",
            )
        },
    }


def now_utc() -> str:
    """The current time, ISO 8601 in UTC, to the second."""
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0).isoformat()


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` as indented JSON, creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def _sides_text(entry: dict[str, Any]) -> str:
    unit = entry.get("unit", "")
    parts = [f"{name} {_number(side.get('value'))}" for name, side in entry.get("sides", {}).items()]
    also = f"; {entry['also']}" if entry.get("also") else ""
    return f"{', '.join(parts)} ({unit}){also}" if parts else ""


def _met_text(entry: dict[str, Any]) -> str:
    if entry.get("status") != MEASURED:
        return entry.get("status", "?")
    text = {True: "yes", False: "NO", None: "n/a"}[entry.get("met")]
    failed = [name for name, met in entry.get("met_by_criterion", {}).items() if met is not True]
    return f"{text} ({', '.join(failed)})" if failed and entry.get("met") is False else text


def table(document: dict[str, Any]) -> str:
    """The figures as a Markdown table: what was compared, the ratio, the goal, whether it is met."""
    rows = [("figure", "measured (both sides)", "ratio", "goal", "met")]
    for key in FIGURE_KEYS:
        entry = document.get(key, {})
        ratio = entry.get("ratio")
        if entry.get("status") == NOT_YET_MEASURED:
            measured_text = "pending phase 2"
        else:
            measured_text = _sides_text(entry) or (entry.get("reason", "").splitlines() or [""])[0][:80]
        rows.append(
            (
                f"`{key}`",
                measured_text,
                "" if ratio is None else f"{ratio:.2f}",
                entry.get("goal", ""),
                _met_text(entry),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(lines)
