"""Evidently's drift snapshot, read into Airloop's summary: per-column verdicts, numbers, and
where each threshold came from. Pure (plain dicts); :mod:`airloop.core.monitor.drift` runs
Evidently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def number(x: Any) -> float | None:
    """Six significant digits (p-values can be 1e-40, so no fixed decimals); None if not finite."""
    x = float(x["mean"] if isinstance(x, dict) else x)  # Evidently's MAE: {"mean", "std"}
    return float(f"{x:.6g}") if math.isfinite(x) else None


def column_drift(snapshot: dict) -> tuple[dict[str, dict[str, Any]], bool | None]:
    """Per-column drift from a drift snapshot's dict, plus Evidently's dataset-drift verdict."""
    failed = {t["metric_config"]["metric_id"] for t in snapshot["tests"] if t["status"] == "FAIL"}
    kind = {m["id"]: m["config"]["type"].rsplit(":", 1)[-1] for m in snapshot["metrics"]}
    columns = {
        m["config"]["column"]: {
            "stattest": m["config"]["method"],
            "score": number(m["value"]),
            "threshold": number(m["config"]["threshold"]),
            "drifted": m["id"] in failed,  # the test fails exactly when drift is detected
        }
        for m in snapshot["metrics"]
        if kind[m["id"]] == "ValueDrift"
    }
    counts = [m["id"] for m in snapshot["metrics"] if kind[m["id"]] == "DriftedColumnsCount"]
    # Its default test is "share < drift_share": failing it is Evidently's dataset drift.
    return columns, (counts[0] in failed) if counts else None


def threshold_source(
    column: str,
    thresholds: dict[str, tuple[float | None, str]] | None,
    tests: dict[str, Any],
    categorical: Sequence[str],
) -> str:
    """Where ``column``'s threshold came from, for the report."""
    if thresholds and column in thresholds:
        return thresholds[column][1]
    kind = "cat" if column in categorical else "num"
    return "spec: monitoring.stattests" if f"{kind}_threshold" in tests else "Evidently's default"
