"""Multi-class labels (``spec.classes``): class codes, probability columns, predicted labels.

The spec's order is the one order everywhere: column j of a probability matrix, class code j
and the ``proba_<label>`` column j all mean ``spec.classes[j]``, whatever classes a model saw in
its training window. So every version scores the same way, and a champion and a challenger are
compared on the same columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from airloop.spec import PipelineSpec

PROBA_PREFIX = "proba_"


def proba_columns(spec: PipelineSpec) -> list[str]:
    """The per-class probability columns of predictions, in the spec's class order."""
    return [f"{PROBA_PREFIX}{c}" for c in spec.classes or []]


def codes(spec: PipelineSpec, values: pd.Series, where: str) -> pd.Series:
    """Class codes 0..k-1 as floats (missing stays NaN); a label outside ``classes`` is an error
    naming ``where`` it was found."""
    classes = spec.classes or []
    mapped = values.map({c: float(i) for i, c in enumerate(classes)})
    unknown = values.notna() & mapped.isna()
    if unknown.any():
        seen = sorted(map(str, values[unknown].unique()))[:10]
        raise ValueError(
            f"{where}: target {spec.target!r} holds labels {seen} that are not in the spec's "
            f"classes {classes}; add them to classes (or quarantine them in the suite)"
        )
    return mapped.astype("float64")


def matrix(model: Any, spec: PipelineSpec, features: pd.DataFrame) -> np.ndarray:
    """``(n, k)`` probabilities in the spec's class order; 0 for a class the model never saw."""
    proba = model.predict_proba(features)
    seen = list(model.classes_)
    out = np.zeros((len(features), len(spec.classes or [])))
    for j, label in enumerate(spec.classes or []):
        if label in seen:
            out[:, j] = proba[:, seen.index(label)]
    return out


def predicted_labels(spec: PipelineSpec, probabilities: np.ndarray) -> np.ndarray:
    """The most probable class of each row, as the spec's labels."""
    return np.asarray(spec.classes, dtype=object)[np.asarray(probabilities).argmax(axis=1)]


def frame_matrix(spec: PipelineSpec, frame: pd.DataFrame) -> np.ndarray:
    """The probability matrix held in a frame's ``proba_<label>`` columns (NaN: not scored)."""
    missing = [c for c in proba_columns(spec) if c not in frame.columns]
    if missing:
        raise ValueError(f"multi-class predictions lack the probability columns {missing}")
    return frame[proba_columns(spec)].to_numpy(dtype="float64", na_value=np.nan)


def predictions(spec: PipelineSpec, probabilities: np.ndarray) -> dict[str, Any]:
    """The prediction columns of a multi-class model: ``prediction`` (the label) and one
    ``proba_<label>`` column per class."""
    found: dict[str, Any] = {"prediction": predicted_labels(spec, probabilities)}
    found |= {c: probabilities[:, j] for j, c in enumerate(proba_columns(spec))}
    return found


def mean_of_rows(
    spec: PipelineSpec, labelled: pd.DataFrame, metric: str
) -> tuple[str, np.ndarray, np.ndarray]:
    """Labelled multi-class rows as the (truth, prediction) vectors of a binary metric with the
    same value, for code that takes one vector (``monitor.quality_check``); and that metric.

    log_loss: the true class's probability against a truth of 1, whose binary log loss is
    -mean(log p_true), the multi-class log loss. accuracy: 1 where the label was right, against
    a prediction of 1. Macro F1 is no mean of rows (a resample cannot be scored row by row), so
    it is judged by accuracy, the label metric that is. NaN marks rows not scored or labelled.
    """
    if metric == "macro_f1":
        metric = "accuracy"
    if labelled.empty:
        return metric, np.array([]), np.array([])
    truth = codes(spec, labelled[spec.target], "labelled rows").to_numpy()
    probabilities = frame_matrix(spec, labelled)
    known = ~np.isnan(truth) & ~np.isnan(probabilities).any(axis=1)
    picked = np.where(known, truth, 0).astype(int)
    if metric == "log_loss":
        p_true = probabilities[np.arange(len(picked)), picked]
        return metric, np.where(known, 1.0, np.nan), p_true
    right = (probabilities.argmax(axis=1) == picked).astype(float)
    return metric, np.where(known, right, np.nan), np.ones(len(picked))
