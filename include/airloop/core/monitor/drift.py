"""Data, prediction and quality drift of recent rows against the champion's reference sample.

The only module importing ``evidently``, inside :func:`compute` (the import costs ~10 s of CPU).
Cost is bounded at any input size: each frame is sampled down to ``sample_rows`` rows (seeded),
at most ``max_columns`` features are compared. ``categorical`` alone sets column types (``hr``
stays numeric); Evidently then picks each test: above 1000 reference rows normed Wasserstein for
numeric columns of more than 5 values, Jensen-Shannon for the rest; at or below, p-value tests.
"""

from __future__ import annotations

import contextlib
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
    PROBA_PREFIX,
    check_inputs,
    numpy_frame,
    quality_sides,
    sample_positions,
    truth_and_scores,
)
from airloop.core.monitor.drift_summary import column_drift, number, threshold_source

QUALITY_KEYS = {
    "regression": ("rmse", "mae", "r2", "mean_error"),
    "classification": ("roc_auc", "f1", "log_loss", "accuracy"),
    "multiclass": metrics.MULTICLASS,
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


def _quality(
    snapshot: Any, task: str, sides: dict[str, pd.DataFrame], target: str, classes: Any = None
) -> dict:
    """Current (labelled) and reference quality, from Evidently where it reports the value."""
    from evidently.core.report import ReferenceMetricNotFound  # a BaseException, not Exception

    task = "multiclass" if classes else task
    found: dict[str, dict[str, float | None]] = {"current": {}, "reference": {}}
    for metric_id, result in snapshot.metric_results.items() if snapshot is not None else ():
        kind = result.metric_value_location.metric.params["type"].rsplit(":", 1)[-1]
        key = _EVIDENTLY_QUALITY.get(kind)
        if key == "f1" and classes:  # Evidently's multi-class F1Score is the macro average
            key = "macro_f1"
        if key not in QUALITY_KEYS[task] or key in found["current"]:
            continue
        found["current"][key] = number(result.to_dict()["value"])
        with contextlib.suppress(ReferenceMetricNotFound):
            reference = snapshot.context.get_reference_metric_result(metric_id)
            found["reference"][key] = number(reference.to_dict()["value"])
    for side, frame in sides.items():  # anything Evidently did not report, same definitions
        y, p = truth_and_scores(frame, target, classes)
        for key in set(QUALITY_KEYS[task]) - set(found[side]):
            # Evidently's mean error is prediction - target.
            value = np.mean(p - y) if key == "mean_error" else metrics.score(key, y, p)
            found[side][key] = number(value)
    return {side: {k: found[side].get(k) for k in QUALITY_KEYS[task]} for side in found}


def _files(name: str, snapshot: Any) -> dict[str, bytes]:
    return {
        f"{name}.html": snapshot.get_html_str(as_iframe=False).encode(),
        f"{name}.json": snapshot.json().encode(),
    }


def _multiclass_report(sides: dict[str, pd.DataFrame], target: str, classes: Sequence) -> Any:
    """Evidently's multi-class quality; without its by-label part when a class is absent.

    Evidently 0.7 crashes on a window where a class of the probability columns is absent from
    the target (evidently issues #1002, #1275): ``ClassificationReport.create``
    (legacy/metrics/classification_performance/objects.py:48) keeps only the classes of
    ``y_true``, so the by-label metrics (``ClassificationQualityByClass.calculate``,
    quality_by_class_metric.py:103) raise KeyError, and ``calculate_pr_table``
    (legacy/calculations/classification_performance.py:274) divides by the absent class's size.
    No argument passes the full label list there (``labels`` only renames). Such a window gets
    the overall metrics (log loss, accuracy, macro F1 as ours; its ROC AUC is NaN, undefined
    for the absent class), the confusion matrix and the PR curve, which all survive it.
    """
    from evidently import DataDefinition, Dataset, MulticlassClassification, Report
    from evidently.presets import ClassificationPreset, ClassificationQuality

    # Evidently binarises the target against the probability columns' names: name them by the
    # labels, and make every label a string on both sides (an int label never equals "1").
    names = [str(c) for c in classes]
    probas = dict(zip(names, [f"{PROBA_PREFIX}{c}" for c in classes], strict=True))
    frames = {
        side: pd.DataFrame({target: f[target].astype(str), PREDICTION: f[PREDICTION].astype(str),
                            **{n: f[column] for n, column in probas.items()}})
        for side, f in sides.items()
    }  # fmt: skip
    complete = all(set(names) <= set(f[target]) for f in frames.values())
    if not complete:  # sklearn warns, per class and side, that the absent one's ROC is undefined
        warnings.filterwarnings("ignore", module="sklearn.metrics")
    preset = ClassificationPreset() if complete else ClassificationQuality(
        conf_matrix=True, pr_curve=True, pr_table=False)  # fmt: skip
    definition = DataDefinition(
        classification=[MulticlassClassification(target=target, prediction_labels=PREDICTION,
                                                 prediction_probas=names)],
        numerical_columns=names, categorical_columns=[target, PREDICTION],
    )  # fmt: skip
    return Report([preset]).run(
        Dataset.from_pandas(frames["current"], data_definition=definition),
        Dataset.from_pandas(frames["reference"], data_definition=definition),
    )


def _quality_report(
    sides: dict[str, pd.DataFrame], target: str, task: str, classes: Sequence | None = None
) -> Any:
    """Evidently's quality preset on labelled vs reference rows; None when it cannot run."""
    if classes:
        return _multiclass_report(sides, target, classes)
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
    classes: Sequence[Any] | None = None,
) -> DriftResult:
    """Compare ``current`` with the champion's ``reference`` sample: features, predictions,
    the classification target and, given labelled rows, model quality (see module docstring).

    ``thresholds``: per compared column, its threshold (None: the method's default) and where it
    came from (``airloop.core.monitor.thresholds.resolve``). ``calendar``: columns whose mix the
    reference sample is drawn to match (``calibration.matched_positions``). ``classes``: a
    multi-class target's labels; its predictions are labels, its quality multi-class."""
    check_inputs(reference, current, features, target, task, categorical, current_predictions)
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
        num, cat = (num, [*cat, PREDICTION]) if classes else ([*num, PREDICTION], cat)
    sides = quality_sides(labelled, ref, target, task, sample_rows, seed, classes)
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
        per_column, dataset_drift = column_drift(snapshot.dict())
        artifacts, quality = _files("drift", snapshot), None
        if sides:
            qsnap = _quality_report(sides, target, task, classes)
            quality = _quality(qsnap, task, sides, target, classes)
            artifacts |= _files("quality", qsnap) if qsnap is not None else {}
        seconds = time.perf_counter() - started

    drifted = [c for c in compared if per_column[c]["drifted"]]
    share = len(drifted) / len(compared)
    summary = {
        "drift_share": number(share),
        "drifted_columns": drifted,
        "columns": {
            c: per_column[c] | {"threshold_source": threshold_source(c, thresholds, tests, cat)}
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
