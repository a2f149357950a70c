"""
Figure 5, ``import_time_ratio``: the time the provider's hook module adds to ``import airflow``,
against the http provider's hook module. Fresh interpreters, interleaved, medians.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from benchmarks import ROOT
from benchmarks.processes import BenchmarkError, child_env
from benchmarks.report import Goal, measured
from benchmarks.stats import median, ratio

KEYS = ("import_time_ratio",)
GOAL = Goal("<=", 0.5, "<= 0.5")
MODULES = {
    "ours": "airflow_provider_mi.hooks.media_intelligence",
    "http": "airflow.providers.http.hooks.http",
}

#: Run in a fresh interpreter as ``python -c SNIPPET MODULE``: import airflow, then MODULE.
SNIPPET = """
import importlib, json, sys, time
wall, cpu = time.perf_counter(), time.process_time()
import airflow
airflow_wall, airflow_cpu = time.perf_counter() - wall, time.process_time() - cpu
modules = len(sys.modules)
wall, cpu = time.perf_counter(), time.process_time()
importlib.import_module(sys.argv[1])
added_wall, added_cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({"airflow_s": airflow_wall, "airflow_cpu_s": airflow_cpu, "added_s": added_wall,
                  "added_cpu_s": added_cpu, "modules_added": len(sys.modules) - modules}))
"""


@dataclass(frozen=True)
class Size:
    repetitions: int
    warm_up: bool
    explain: bool


SIZES = {False: Size(repetitions=15, warm_up=True, explain=True), True: Size(1, warm_up=False, explain=False)}


def _python(args: list[str]) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=120
    )
    if completed.returncode != 0:
        raise BenchmarkError(f"python {' '.join(args[:2])} failed:\n{completed.stderr[-3000:]}")
    return completed


def time_once(module: str) -> dict[str, float]:
    """Import airflow then ``module`` in a fresh interpreter; return the timings."""
    output = _python(["-c", SNIPPET, module]).stdout
    result: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return result


def packages_added(module: str, top: int = 8) -> dict[str, float]:
    """
    One ``-X importtime`` run: the packages ``module`` pulls in after airflow, by self time (ms).

    Single-run figures, for telling where the time goes, not for comparing.
    """
    stderr = _python(["-X", "importtime", "-c", f"import airflow; import {module}"]).stderr
    by_package: dict[str, float] = defaultdict(float)
    after_airflow = False
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        self_us, _, name = (part.strip() for part in line[len("import time:") :].split("|"))
        if not self_us.isdigit():
            continue
        if after_airflow:
            by_package[name.split(".")[0]] += int(self_us) / 1000
        elif name == "airflow":
            after_airflow = True
    ranked = sorted(by_package.items(), key=lambda item: item[1], reverse=True)[:top]
    return {name: round(ms, 1) for name, ms in ranked}


def measure(smoke: bool = False) -> dict[str, dict[str, Any]]:
    """Time both modules in alternating fresh interpreters (after one discarded warm-up each)."""
    size = SIZES[smoke]
    if size.warm_up:
        for module in MODULES.values():
            time_once(module)  # compiles bytecode, writes airflow.cfg: not measured
    runs: dict[str, list[dict[str, float]]] = {side: [] for side in MODULES}
    for repetition in range(size.repetitions):
        order = list(MODULES) if repetition % 2 == 0 else list(MODULES)[::-1]
        for side in order:
            runs[side].append(time_once(MODULES[side]))
    sides: dict[str, dict[str, Any]] = {}
    for side, module in MODULES.items():
        added = [run["added_s"] * 1000 for run in runs[side]]
        sides[side] = {
            "value": round(median(added), 1),
            "module": module,
            "added_ms_by_run": [round(value, 1) for value in added],
            "added_cpu_ms": round(median([run["added_cpu_s"] * 1000 for run in runs[side]]), 1),
            "import_airflow_ms": round(median([run["airflow_s"] * 1000 for run in runs[side]]), 1),
            "modules_added": int(median([run["modules_added"] for run in runs[side]])),
            "largest_packages_added_ms": packages_added(module) if size.explain else {},
        }
    cpu_ratio = ratio(sides["ours"]["added_cpu_ms"], sides["http"]["added_cpu_ms"])
    return {
        "import_time_ratio": measured(
            what="Time the provider's hook module adds to `import airflow`, vs "
            "airflow.providers.http.hooks.http.",
            method=f"{size.repetitions} fresh interpreters per side, alternating, after one discarded "
            "warm-up each: `import airflow`, then the module; time.perf_counter around the second "
            "import; median per side. largest_packages_added_ms comes from one `-X importtime` run.",
            unit="ms added",
            sides=sides,
            ratio=ratio(sides["ours"]["value"], sides["http"]["value"]),
            ratio_of="ours / http",
            goal=GOAL,
            details={"cpu_ratio": None if cpu_ratio is None else round(cpu_ratio, 4)},
        )
    }
