"""
The provider's benchmark suite: side-by-side ratios measured in one run (issue 5).

``python -m benchmarks`` (or ``scripts/bench``) runs every figure, prints a table and writes
``benchmarks/results/latest.json``. Each figure lives in :mod:`benchmarks.figures`; the measured
clients run in their own processes (:mod:`benchmarks.clients`), the servers in others.
"""

from __future__ import annotations

from pathlib import Path

#: The repository's root, the working directory of every process the suite starts.
ROOT = Path(__file__).resolve().parent.parent
