"""Each champion's drift thresholds: calibrated on its window, stored with it, resolved per column.

``<lake>/<pipeline>/calibration/v<version>.json`` holds a version's :class:`Calibration`; the
same record is logged to its MLflow run. Training writes it (so a promoted version monitors
with its own thresholds from its first day); monitoring calibrates a champion that has none
(trained before calibration existed, or the file was deleted); ``airloop calibrate --refresh``
rewrites it. Per column, a hand-set ``monitoring.thresholds`` entry beats the calibration,
which beats ``stattests``' num/cat thresholds, which beat Evidently's defaults.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pandas as pd

from airloop.core.data.lake import Lake
from airloop.core.data.storage import atomic_write_bytes
from airloop.core.monitor.calibration import Calibration, calibrate
from airloop.spec import PipelineSpec

DAY = "_airloop_day"  # the day column training.load_window adds


def compared_columns(spec: PipelineSpec) -> list[str]:
    return list((spec.monitoring.columns or spec.features)[: spec.monitoring.max_columns])


def calibrate_frame(spec: PipelineSpec, frame: pd.DataFrame) -> Calibration | None:
    """Calibrate on a training window (rows with a ``_airloop_day`` column); None if the spec
    sets no false-alarm target."""
    mon = spec.monitoring
    if mon.false_alarms_per_90_days is None:
        return None
    columns = compared_columns(spec)
    methods = {k: str(mon.stattests[f"{k}_method"]) for k in ("num", "cat")
               if f"{k}_method" in mon.stattests}  # fmt: skip
    return calibrate(
        frame, day_column=DAY, columns=columns,
        categorical=[c for c in spec.training.categorical_features if c in columns],
        methods=methods, window_days=mon.window_days, sample_rows=mon.sample_rows,
        reference_rows=spec.training.reference_sample_rows, drift_share=mon.policy.drift_share,
        false_alarms_per_90_days=mon.false_alarms_per_90_days, calendar=mon.calendar,
        resamples=mon.calibration_resamples, seed=spec.training.random_state,
    )  # fmt: skip


def window_frame(data: Any) -> pd.DataFrame:
    """A ``training.TrainingData``'s rows (train, then holdout) with their day in ``DAY``.

    ``load_window`` sorts rows by day and lists its partitions in day order, so the day of
    each row follows from the partitions' row counts."""
    import numpy as np

    frame = pd.concat([data.train, data.holdout], ignore_index=True)
    days = np.repeat([date.fromisoformat(p["date"]) for p in data.partitions],
                     [p["rows"] for p in data.partitions])  # fmt: skip
    if len(days) != len(frame):
        raise ValueError(f"calibration: {len(frame)} window rows but the partitions list "
                         f"{len(days)}")  # fmt: skip
    return frame.assign(**{DAY: days})


def _path(lake: Lake, version: int) -> Any:
    return lake.base / "calibration" / f"v{version}.json"


def save(lake: Lake, version: int, found: Calibration) -> str:
    atomic_write_bytes(_path(lake, version), json.dumps(found.to_record(), indent=2).encode())
    return str(_path(lake, version))


def load(lake: Lake, version: int) -> Calibration | None:
    path = _path(lake, version)
    return Calibration.from_record(json.loads(path.read_bytes())) if path.exists() else None


def training_window(tags: dict[str, Any]) -> tuple[date, date]:
    """The first and last day of a version's training window, from its ``data_window`` tag."""
    window = tags.get("data_window") or ""
    if ".." not in window:
        raise ValueError(f"the version has no data_window tag ({window!r}) to calibrate on")
    first, last = window.split("..")
    return date.fromisoformat(first), date.fromisoformat(last)


def refresh(lake: Lake, spec: PipelineSpec, version: int, tags: dict[str, Any]) -> Calibration:
    """Calibrate ``version`` again on its training window, from the lake; store the result."""
    from airloop.core.model import training

    if spec.monitoring.false_alarms_per_90_days is None:
        raise ValueError(f"{spec.name}: monitoring.false_alarms_per_90_days is not set, so "
                         "thresholds are hand-set; set it to calibrate them")  # fmt: skip
    first, last = training_window(tags)
    data = training.load_window(lake, spec, last, (last - first).days + 1)
    found = calibrate_frame(spec, window_frame(data))
    assert found is not None  # the target is set
    save(lake, version, found)
    return found


def for_version(
    lake: Lake, spec: PipelineSpec, version: int, tags: dict[str, Any]
) -> Calibration | None:
    """The stored calibration of ``version``, made now if the spec wants one and it has none."""
    if spec.monitoring.false_alarms_per_90_days is None:
        return None
    return load(lake, version) or refresh(lake, spec, version, tags)


def resolve(spec: PipelineSpec, found: Calibration | None) -> dict[str, tuple[float | None, str]]:
    """Per compared column: its threshold (None: Evidently's default) and where it came from."""
    mon, resolved = spec.monitoring, {}
    categorical = set(spec.training.categorical_features)
    for column in compared_columns(spec):
        hand = mon.stattests.get("cat_threshold" if column in categorical else "num_threshold")
        if column in mon.thresholds:
            resolved[column] = (float(mon.thresholds[column]), "spec: monitoring.thresholds")
        elif found is not None and column in found.thresholds:
            days = "..".join(found.days)
            why = f"calibrated on {days} at {found.false_alarms_per_90_days} false alarms/90 days"
            resolved[column] = (found.thresholds[column], why)
        elif hand is not None:
            resolved[column] = (float(hand), "spec: monitoring.stattests")
        else:
            resolved[column] = (None, "Evidently's default")
    return resolved
