"""Data, prediction and quality drift of recent rows against the champion's reference sample.

The only module importing ``evidently``, inside :func:`compute` (the import costs ~10 s of CPU).
Cost is bounded at any input size: each frame is sampled down to ``sample_rows`` rows (seeded),
at most ``max_columns`` features are compared. ``categorical`` alone sets column types (``hr``
stays numeric); Evidently then picks each test: above 1000 reference rows normed Wasserstein for
numeric columns of more than 5 values, Jensen-Shannon for the rest; at or below, p-value tests.
"""

from __future__ import annotations

import contextlib
import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from airloop.core.model import metrics
from airloop.core.monitor.drift_frames import (
    PREDICTION,
    numpy_frame,
    quality_sides,
    sample_positions,
)

QUALITY_KEYS = {
    "regression": ("rmse", "mae", "r2", "mean_error"),
    "classification": ("roc_auc", "f1", "log_loss", "accuracy"),
}
# Evidently metric class (the tail of its config "type") -> our quality key.
_EVIDENTLY_QUALITY = {
    "RMSE": "rmse", "MAE": "mae", "R2Score": "r2", "MeanError": "mean_error",
    "RocAuc": "roc_auc", "F1Score": "f1", "LogLoss": "log_loss", "Accuracy": "accuracy",
}  # fmt: skip


@dataclass
class DriftResult:
    """What :func:`compute` found: a JSON-able summary and report files by name."""

    summary: dict[str, Any]
    artifacts: dict[str, bytes] = field(default_factory=dict)


def _num(x: Any) -> float | None:
    """Six significant digits (p-values can be 1e-40, so no fixed decimals); None if not finite."""
    x = float(x["mean"] if isinstance(x, dict) else x)  # Evidently's MAE: {"mean", "std"}
    return float(f"{x:.6g}") if math.isfinite(x) else None


def _check(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    features: Sequence[str],
    target: str,
    task: str,
    categorical: Sequence[str],
    current_predictions: pd.Series | None,
) -> None:
    if task not in QUALITY_KEYS:
        raise ValueError(f"task must be 'regression' or 'classification', got {task!r}")
    if not features:
        raise ValueError("features is empty: nothing to compare")
    if target in features or PREDICTION in features:
        raise ValueError(f"features must not include the target {target!r} or {PREDICTION!r}")
    unknown = sorted(set(categorical) - set(features))
    if unknown:
        raise ValueError(f"categorical names columns that are not features: {unknown}")
    for name, frame in (("reference", reference), ("current", current)):
        if len(frame) == 0:
            raise ValueError(f"{name} is empty (0 rows): drift needs rows on both sides")
        missing = [c for c in features if c not in frame.columns]
        if missing:
            raise ValueError(f"{name} lacks feature columns {missing}")
    if current_predictions is not None:
        if not isinstance(current_predictions, pd.Series):
            raise TypeError("current_predictions must be a pandas Series aligned with current")
        if PREDICTION not in reference.columns:
            raise ValueError(f"reference lacks a {PREDICTION!r} column to compare predictions with")
        if not current_predictions.index.equals(current.index):
            raise ValueError("current_predictions must have exactly current's index (row order)")


def _drift(snapshot: dict) -> tuple[dict[str, dict[str, Any]], bool | None]:
    """Per-column drift from a drift snapshot's dict, plus Evidently's dataset-drift verdict."""
    failed = {t["metric_config"]["metric_id"] for t in snapshot["tests"] if t["status"] == "FAIL"}
    kind = {m["id"]: m["config"]["type"].rsplit(":", 1)[-1] for m in snapshot["metrics"]}
    columns = {
        m["config"]["column"]: {
            "stattest": m["config"]["method"],
            "score": _num(m["value"]),
            "threshold": _num(m["config"]["threshold"]),
            "drifted": m["id"] in failed,  # the test fails exactly when drift is detected
        }
        for m in snapshot["metrics"]
        if kind[m["id"]] == "ValueDrift"
    }
    counts = [m["id"] for m in snapshot["metrics"] if kind[m["id"]] == "DriftedColumnsCount"]
    # Its default test is "share < drift_share": failing it is Evidently's dataset drift.
    return columns, (counts[0] in failed) if counts else None


def _quality(snapshot: Any, task: str, sides: dict[str, pd.DataFrame], target: str) -> dict:
    """Current (labelled) and reference quality, from Evidently where it reports the value."""
    from evidently.core.report import ReferenceMetricNotFound  # a BaseException, not Exception

    found: dict[str, dict[str, float | None]] = {"current": {}, "reference": {}}
    for metric_id, result in snapshot.metric_results.items() if snapshot is not None else ():
        kind = result.metric_value_location.metric.params["type"].rsplit(":", 1)[-1]
        key = _EVIDENTLY_QUALITY.get(kind)
        if key is None or key in found["current"]:
            continue
        found["current"][key] = _num(result.to_dict()["value"])
        with contextlib.suppress(ReferenceMetricNotFound):
            reference = snapshot.context.get_reference_metric_result(metric_id)
            found["reference"][key] = _num(reference.to_dict()["value"])
    for side, frame in sides.items():  # anything Evidently did not report, same definitions
        y, p = frame[target].to_numpy(float), frame[PREDICTION].to_numpy(float)
        for key in set(QUALITY_KEYS[task]) - set(found[side]):
            # Evidently's mean error is prediction - target.
            value = np.mean(p - y) if key == "mean_error" else metrics.score(key, y, p)
            found[side][key] = _num(value)
    return {side: {k: found[side].get(k) for k in QUALITY_KEYS[task]} for side in found}


def _files(name: str, snapshot: Any) -> dict[str, bytes]:
    return {
        f"{name}.html": snapshot.get_html_str(as_iframe=False).encode(),
        f"{name}.json": snapshot.json().encode(),
    }


def _quality_report(sides: dict[str, pd.DataFrame], target: str, task: str) -> Any:
    """Evidently's quality preset on labelled vs reference rows; None when it cannot run."""
    if task == "classification" and min(f[target].nunique() for f in sides.values()) < 2:
        return None  # Evidently's classification metrics raise KeyError on a single class
    from evidently import BinaryClassification, DataDefinition, Dataset, Regression, Report
    from evidently.presets import ClassificationPreset, RegressionPreset

    if task == "regression":
        definition = DataDefinition(
            regression=[Regression(target=target, prediction=PREDICTION)],
            numerical_columns=[target, PREDICTION],
        )
        preset: Any = RegressionPreset()
    else:  # binary; "prediction" is the positive class's probability
        definition = DataDefinition(
            classification=[BinaryClassification(target=target, prediction_probas=PREDICTION)],
            numerical_columns=[PREDICTION],
            categorical_columns=[target],
        )
        preset = ClassificationPreset()
    return Report([preset]).run(
        Dataset.from_pandas(sides["current"], data_definition=definition),
        Dataset.from_pandas(sides["reference"], data_definition=definition),
    )


def _source(
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


def compute(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    features: list[str],
    target: str,
    task: Literal["regression", "classification"],
    categorical: Sequence[str] = (),
    current_predictions: pd.Series | None = None,
    labelled: pd.DataFrame | None = None,
    sample_rows: int = 5000,
    max_columns: int = 30,
    seed: int = 0,
    drift_share_threshold: float = 0.5,
    stattests: dict[str, Any] | None = None,
    thresholds: dict[str, tuple[float | None, str]] | None = None,
    calendar: Sequence[str] = (),
) -> DriftResult:
    """Compare ``current`` with the champion's ``reference`` sample: features, predictions,
    the classification target and, given labelled rows, model quality (see module docstring).

    ``thresholds``: per compared column, its threshold (None: the method's default) and where it
    came from (``airloop.core.monitor.thresholds.resolve``). ``calendar``: columns whose mix the
    reference sample is drawn to match (``calibration.matched_positions``)."""
    _check(reference, current, features, target, task, categorical, current_predictions)
    if sample_rows < 1 or max_columns < 1:
        raise ValueError("sample_rows and max_columns must be >= 1")
    compared, dropped = list(features[:max_columns]), list(features[max_columns:])
    num = [c for c in compared if c not in set(categorical)]
    cat = [c for c in compared if c in set(categorical)]
    positions = sample_positions(len(current), sample_rows, seed, 1)
    cur = current.iloc[positions]
    if calendar:  # like with like: the reference drawn with the current window's calendar mix
        from airloop.core.monitor.calibration import matched_positions

        ref = reference.iloc[matched_positions(reference, cur, calendar, sample_rows, seed)]
    else:
        ref = reference.iloc[sample_positions(len(reference), sample_rows, seed, 0)]
    # Rows no model has scored yet are NaN, and Evidently rejects an all-NaN column.
    preds = None if current_predictions is None else current_predictions.iloc[positions]
    scored = preds is not None and bool(preds.notna().any())
    if scored:
        cur = cur.assign(**{PREDICTION: preds.to_numpy()})
        num = [*num, PREDICTION]
    sides = quality_sides(labelled, ref, target, task, sample_rows, seed)
    # Target drift only for classification (a regression target shifts with every season).
    target_drift = task == "classification" and target in cur and bool(cur[target].notna().any())
    if target_drift:
        if target not in ref.columns:
            raise ValueError(f"reference lacks the target column {target!r} for target drift")
        cat = [*cat, target]
    ref_frame, cur_frame = numpy_frame(ref, num, cat), numpy_frame(cur, num, cat)

    # Evidently warns on every run (constant columns, pandas deprecations in its own code).
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.filterwarnings("ignore", category=FutureWarning, module="evidently")
        from evidently import DataDefinition, Dataset, Report, __version__
        from evidently.metrics import ValueDrift
        from evidently.presets import DataDriftPreset

        started = time.perf_counter()  # after the import: that is a one-off per process
        definition = DataDefinition(numerical_columns=num, categorical_columns=cat)
        # ``stattests``: num_method/num_threshold/cat_method/cat_threshold, as Evidently names
        # them. Daily data is autocorrelated (weather), so p-value tests flag every week.
        tests = {k: v for k, v in (stattests or {}).items() if v is not None}
        given = {c: t for c, (t, _) in (thresholds or {}).items() if t is not None}
        items = [DataDriftPreset(columns=compared, drift_share=drift_share_threshold,
                                 per_column_threshold=given or None, **tests)]  # fmt: skip
        items += [
            ValueDrift(column=c, method=tests.get(f"{kind}_method"),
                       threshold=tests.get(f"{kind}_threshold"))
            for kind, columns in (("num", num), ("cat", cat))
            for c in columns
            if c not in compared
        ]  # fmt: skip
        # include_tests: per-column verdicts are exposed only as test statuses.
        snapshot = Report(items, include_tests=True).run(
            Dataset.from_pandas(cur_frame, data_definition=definition),
            Dataset.from_pandas(ref_frame, data_definition=definition),
        )
        per_column, dataset_drift = _drift(snapshot.dict())
        artifacts, quality = _files("drift", snapshot), None
        if sides:
            qsnap = _quality_report(sides, target, task)
            quality = _quality(qsnap, task, sides, target)
            artifacts |= _files("quality", qsnap) if qsnap is not None else {}
        seconds = time.perf_counter() - started

    drifted = [c for c in compared if per_column[c]["drifted"]]
    share = len(drifted) / len(compared)
    summary = {
        "drift_share": _num(share),
        "drifted_columns": drifted,
        "columns": {
            c: per_column[c] | {"threshold_source": _source(c, thresholds, tests, cat)}
            for c in compared
        },
        # Evidently's own verdict; its rule (share >= threshold) should it ever give none.
        "dataset_drift": share >= drift_share_threshold if dataset_drift is None else dataset_drift,
        "drift_share_threshold": drift_share_threshold,
        "prediction_drift": per_column[PREDICTION] if scored else None,
        "target_drift": per_column[target] if target_drift else None,
        "quality": quality["current"] if quality else None,
        "reference_quality": quality["reference"] if quality else None,
        "labelled_rows": len(sides["current"]) if sides else 0,
        "labelled_rows_total": 0 if labelled is None else len(labelled),
        "reference_rows": len(ref_frame),
        "current_rows": len(cur_frame),
        "current_rows_total": len(current),
        "sample_rows": sample_rows,
        "columns_compared": compared,
        "columns_dropped": dropped,
        "compute_seconds": round(seconds, 3),
        "evidently_version": __version__,
    }
    return DriftResult(summary=summary, artifacts=artifacts)
