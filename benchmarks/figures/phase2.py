"""What the figures of phase 2 share until they are measured: an entry saying why not."""

from __future__ import annotations

from typing import Any

from benchmarks.report import not_measured


def pending(key: str, *, what: str, goal: str, feature: str, harness: str) -> dict[str, dict[str, Any]]:
    """The entry of a figure whose feature does not exist yet (status ``not yet measured``)."""
    reason = f"pending phase 2: {feature} does not exist yet, so there is nothing to measure."
    return {key: not_measured(what=what, goal=goal, reason=reason, harness=harness)}
