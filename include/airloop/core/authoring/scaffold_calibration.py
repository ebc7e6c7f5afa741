"""The scaffold's first look at drift thresholds: calibrated on the file's own first days.

Each champion calibrates its own thresholds when it is trained (airloop.core.monitor.
thresholds); this shows the reviewer, before anything runs, what calm drift looks like in the
file and where the first champion's thresholds will sit.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from airloop.spec import PipelineSpec


def first_window_note(spec: dict[str, Any], frame: pd.DataFrame, day_number: pd.Series) -> str:
    """A note with the per-column thresholds calibrated on the first model's window."""
    from airloop.core.monitor import thresholds

    parsed = PipelineSpec.model_validate(spec)
    days = parsed.monitoring.policy.initial_min_days
    rows = frame.assign(**{thresholds.DAY: day_number.reindex(frame.index)})
    rows = rows[rows[thresholds.DAY] < days].dropna(subset=[thresholds.DAY])
    try:
        found = thresholds.calibrate_frame(parsed, rows)
    except (ValueError, TypeError) as exc:  # too few days, a column that will not compare
        return f"drift thresholds: not calibrated on the file ({exc}); each champion will try"
    if found is None:
        return "drift thresholds: hand-set (no false-alarm target)"
    shown = ", ".join(f"{c} {t:g}" for c, t in found.thresholds.items())
    return (f"drift thresholds calibrated on the file's first {days} days at "
            f"{found.false_alarms_per_90_days:g} false alarm / 90 days ({found.seconds} s): "
            f"{shown}; each champion recalibrates on its own window")  # fmt: skip
