"""Data, prediction and quality drift of recent rows against the champion's reference sample.

The only module that imports ``evidently``, and only inside :func:`compute`: the import alone
costs several seconds of CPU. Cost is bounded at any input size: each frame is sampled down to
``sample_rows`` rows (seeded) and at most ``max_columns`` features are compared.

Evidently picks each column's test from the reference size and the column's unique values:
above 1000 reference rows, normed Wasserstein for numeric columns with more than 5 values and
Jensen-Shannon for categorical ones and for low-cardinality numeric ones (``holiday``,
``workingday``); at or below 1000 rows, p-value tests (K-S, chi-square, Z). ``categorical``
decides the type; nothing is inferred, so integer columns such as ``hr`` or ``mnth`` stay
numeric unless listed.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from airloop.core import metrics

PREDICTION = "prediction"
QUALITY_KEYS = {
    "regression": ("rmse", "mae", "r2", "mean_error"),
    "classification": ("roc_auc", "f1", "log_loss", "accuracy"),
}
# Evidently metric class (the tail of its config "type") -> our quality key.
_EVIDENTLY_QUALITY = {
    "RMSE": "rmse",
    "MAE": "mae",
    "R2Score": "r2",
    "MeanError": "mean_error",
    "RocAuc": "roc_auc",
    "F1Score": "f1",
    "LogLoss": "log_loss",
    "Accuracy": "accuracy",
}


@dataclass
class DriftResult:
    """What :func:`compute` found: a JSON-able summary and report files by name."""

    summary: dict[str, Any]
    artifacts: dict[str, bytes] = field(default_factory=dict)


def _num(x: Any) -> float | None:
    """Six significant digits (p-values can be 1e-40, so no fixed decimals); None if not finite."""
    x = float(x)
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
            raise ValueError(
                f"reference has no {PREDICTION!r} column to compare current_predictions with"
            )
        if not current_predictions.index.equals(current.index):
            raise ValueError("current_predictions must have exactly current's index (row order)")


def _rows(n: int, cap: int, seed: int, stream: int) -> np.ndarray:
    """Positions of a seeded sample of at most ``cap`` rows, in their original order."""
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, stream]).choice(n, size=cap, replace=False))


def _plain(frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]) -> pd.DataFrame:
    """A numpy-backed copy: Evidently mishandles pandas nullable dtypes (Int64, Float64, string)."""
    out: dict[str, np.ndarray] = {}
    for col in numeric:
        try:
            values = pd.to_numeric(frame[col], errors="raise")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"column {col!r} is treated as numeric but holds {exc}") from exc
        out[col] = values.to_numpy(dtype="float64", na_value=np.nan)
    for col in categorical:
        s = frame[col]
        if isinstance(s.dtype, pd.api.extensions.ExtensionDtype):
            out[col] = s.to_numpy(dtype=object, na_value=np.nan)
        else:
            out[col] = s.to_numpy()
    return pd.DataFrame(out)


def _metrics_of(snapshot: dict, kind: str) -> list[dict]:
    """Metrics of the given Evidently metric class name, e.g. ``ValueDrift``."""
    return [m for m in snapshot["metrics"] if m["config"]["type"].endswith(":" + kind)]


def _drift(snapshot: dict) -> tuple[dict[str, dict[str, Any]], bool | None]:
    """Per-column drift from a drift snapshot's dict, plus Evidently's dataset-drift verdict."""
    failed = {t["metric_config"]["metric_id"] for t in snapshot["tests"] if t["status"] == "FAIL"}
    columns = {
        m["config"]["column"]: {
            "stattest": m["config"]["method"],
            "score": _num(m["value"]),
            "threshold": _num(m["config"]["threshold"]),
            "drifted": m["id"] in failed,  # the test fails exactly when drift is detected
        }
        for m in _metrics_of(snapshot, "ValueDrift")
    }
    counts = _metrics_of(snapshot, "DriftedColumnsCount")
    # Its default test is "share < drift_share": failing it is Evidently's dataset drift.
    return columns, (counts[0]["id"] in failed) if counts else None


def _fallback(task: str, y: np.ndarray, p: np.ndarray) -> dict[str, float | None]:
    """Quality computed here, for any key Evidently did not report (same definitions)."""
    out = {k: _num(metrics.score(k, y, p)) for k in QUALITY_KEYS[task] if k in metrics.METRICS}
    if task == "regression":
        out["mean_error"] = _num(np.mean(p - y))  # Evidently's sign: prediction - target
    return out


def _value(result: Any) -> float | None:
    value = result.to_dict()["value"]
    return _num(value["mean"] if isinstance(value, dict) else value)  # MAE, MeanError: mean/std


def _quality(snapshot: Any, task: str, sides: dict[str, pd.DataFrame], target: str) -> dict:
    """Current (labelled) and reference quality, from Evidently where it reports the value."""
    found: dict[str, dict[str, float | None]] = {"current": {}, "reference": {}}
    for metric_id, result in snapshot.metric_results.items():
        kind = result.metric_value_location.metric.params["type"].rsplit(":", 1)[-1]
        key = _EVIDENTLY_QUALITY.get(kind)
        if key is None or key in found["current"]:
            continue
        found["current"][key] = _value(result)
        try:
            found["reference"][key] = _value(
                snapshot.context.get_reference_metric_result(metric_id)
            )
        except BaseException:  # ReferenceMetricNotFound derives from BaseException, not Exception
            pass
    for side, frame in sides.items():
        if any(k not in found[side] for k in QUALITY_KEYS[task]):
            y, p = frame[target].to_numpy(float), frame[PREDICTION].to_numpy(float)
            found[side] = _fallback(task, y, p) | found[side]
    return {side: {k: found[side].get(k) for k in QUALITY_KEYS[task]} for side in found}


def _labelled(frame: pd.DataFrame, target: str, task: str) -> pd.DataFrame:
    """Target and prediction only, rows with both present; binary labels as 0/1 ints."""
    missing = [c for c in (target, PREDICTION) if c not in frame.columns]
    if missing:
        raise ValueError(f"labelled rows need columns {missing}")
    out = _plain(frame, [target, PREDICTION], []).dropna()
    if task == "classification":
        bad = sorted(set(out[target].unique()) - {0.0, 1.0})
        if bad:
            raise ValueError(f"classification target {target!r} must be 0/1, found {bad[:5]}")
        out[target] = out[target].astype("int64")
    return out


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
) -> DriftResult:
    """Compare ``current`` with the champion's ``reference`` sample: features, predictions,
    classification target and, given labelled rows, model quality. See the module docstring."""
    _check(reference, current, features, target, task, categorical, current_predictions)
    if sample_rows < 1 or max_columns < 1:
        raise ValueError("sample_rows and max_columns must be >= 1")
    compared, dropped = list(features[:max_columns]), list(features[max_columns:])
    cat_set = set(categorical)
    num = [c for c in compared if c not in cat_set]
    cat = [c for c in compared if c in cat_set]

    ref = reference.iloc[_rows(len(reference), sample_rows, seed, 0)]
    cur_pos = _rows(len(current), sample_rows, seed, 1)
    cur = current.iloc[cur_pos]
    extra_num, extra_cat = [], []
    if current_predictions is not None:
        extra_num.append(PREDICTION)
        cur = cur.assign(**{PREDICTION: current_predictions.iloc[cur_pos].to_numpy()})
    target_drift_col = None
    if task == "classification" and target in cur.columns and cur[target].notna().any():
        if target not in ref.columns:
            raise ValueError(f"reference lacks the target column {target!r} for target drift")
        target_drift_col = target
        extra_cat.append(target)
    ref_frame = _plain(ref, num + extra_num, cat + extra_cat)
    cur_frame = _plain(cur, num + extra_num, cat + extra_cat)

    sides: dict[str, pd.DataFrame] = {}
    if labelled is not None and len(labelled):
        lab = _labelled(labelled, target, task)
        if len(lab):
            missing = [c for c in (target, PREDICTION) if c not in ref.columns]
            if missing:
                raise ValueError(f"reference lacks {missing}, needed for reference quality")
            lab = lab.iloc[_rows(len(lab), sample_rows, seed, 2)].reset_index(drop=True)
            sides = {"current": lab, "reference": _labelled(ref, target, task)}

    # Evidently warns about constant columns (NaN correlations) on every run; it is harmless.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        import evidently
        from evidently import BinaryClassification, DataDefinition, Dataset, Regression, Report
        from evidently.metrics import ValueDrift
        from evidently.presets import ClassificationPreset, DataDriftPreset, RegressionPreset

        started = time.perf_counter()  # after the import: that is a one-off per process
        definition = DataDefinition(
            numerical_columns=num + extra_num, categorical_columns=cat + extra_cat
        )
        items = [DataDriftPreset(columns=compared, drift_share=drift_share_threshold)]
        items += [ValueDrift(column=c) for c in extra_num + extra_cat]
        # include_tests: the per-column drift verdicts are only exposed as test statuses.
        snapshot = Report(items, include_tests=True).run(
            Dataset.from_pandas(cur_frame, data_definition=definition),
            Dataset.from_pandas(ref_frame, data_definition=definition),
        )
        drift_dict = snapshot.dict()
        artifacts = {
            "drift.html": snapshot.get_html_str(as_iframe=False).encode(),
            "drift.json": snapshot.json().encode(),
        }
        quality = None
        if sides:
            if task == "regression":
                task_def: dict[str, Any] = {
                    "regression": [Regression(target=target, prediction=PREDICTION)],
                    "numerical_columns": [target, PREDICTION],
                }
                preset: Any = RegressionPreset()
            else:
                task_def = {
                    "classification": [
                        BinaryClassification(target=target, prediction_probas=PREDICTION)
                    ],
                    "numerical_columns": [PREDICTION],
                    "categorical_columns": [target],
                }
                preset = ClassificationPreset()
            qdef = DataDefinition(**task_def)
            qsnap = Report([preset]).run(
                Dataset.from_pandas(sides["current"], data_definition=qdef),
                Dataset.from_pandas(sides["reference"], data_definition=qdef),
            )
            quality = _quality(qsnap, task, sides, target)
            artifacts["quality.html"] = qsnap.get_html_str(as_iframe=False).encode()
            artifacts["quality.json"] = qsnap.json().encode()
        seconds = time.perf_counter() - started

    per_column, dataset_drift = _drift(drift_dict)
    columns = {c: per_column[c] for c in compared}
    drifted = [c for c in compared if columns[c]["drifted"]]
    summary = {
        "drift_share": _num(len(drifted) / len(compared)),
        "drifted_columns": drifted,
        "columns": columns,
        # Evidently's own verdict; the same rule (share >= threshold) if it gave none.
        "dataset_drift": dataset_drift
        if dataset_drift is not None
        else len(drifted) / len(compared) >= drift_share_threshold,
        "drift_share_threshold": drift_share_threshold,
        "prediction_drift": per_column[PREDICTION] if extra_num else None,
        "target_drift": per_column[target] if target_drift_col else None,
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
        "evidently_version": evidently.__version__,
    }
    return DriftResult(summary=summary, artifacts=artifacts)
