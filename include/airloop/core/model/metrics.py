"""Model quality metrics by name, with their direction (numpy/sklearn only).

Predictions are a vector for regression and binary classification (the positive-class
probability) and an ``(n, k)`` probability matrix for a multi-class one, whose truth ``y`` is
the class code 0..k-1 (``training.target_values``). Label metrics (accuracy, f1, macro_f1) take
the 0.5-threshold label of a vector and the most probable class of a matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

LOWER_IS_BETTER = {"rmse", "mae", "log_loss"}
MULTICLASS = ("log_loss", "accuracy", "macro_f1")  # the metrics a probability matrix supports
EPS = 1e-15  # probabilities are clipped to [EPS, 1 - EPS]: a confident miss costs ~34.5


def _rmse(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - p) ** 2)))


def _mae(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(np.abs(y - p)))


def _r2(y: np.ndarray, p: np.ndarray) -> float:
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - p) ** 2)) / ss_tot if ss_tot else 0.0


def labels(p: np.ndarray) -> np.ndarray:
    """Predicted labels: the most probable class of a matrix, the 0.5-threshold of a vector."""
    if p.ndim == 2:
        return p.argmax(axis=1)
    return (p >= 0.5).astype(int) if p.dtype.kind == "f" else p


def row_values(name: str, y: np.ndarray, p: np.ndarray) -> np.ndarray | None:
    """Per-row values whose mean is ``name`` (for rmse: before the root); None for a metric that
    is no mean of rows (r2, roc_auc, f1, macro_f1). The bootstrap resamples these directly."""
    if name == "rmse":
        return (y - p) ** 2
    if name == "mae":
        return np.abs(y - p)
    if name == "log_loss":
        if p.ndim == 2:  # the probability given to the true class
            return -np.log(np.clip(p[np.arange(len(y)), y.astype(int)], EPS, 1.0))
        q = np.clip(p, EPS, 1 - EPS)
        return -(y * np.log(q) + (1 - y) * np.log(1 - q))
    if name == "accuracy":
        return (labels(p) == y).astype(float)
    return None


def macro_f1_resampled(y: np.ndarray, predicted: np.ndarray, k: int) -> np.ndarray:
    """Macro F1 of each row of ``(resamples, n)`` code arrays, over the classes present in the
    truth or the prediction (sklearn's default labels, zero_division=0): a class absent from
    both says nothing about the model, so it neither counts as 0 nor as 1."""
    total = np.zeros(len(y), dtype=float)
    present = np.zeros(len(y), dtype=float)
    for c in range(k):
        true, hit = y == c, predicted == c
        tp = (true & hit).sum(axis=1)
        denominator = 2 * tp + (hit & ~true).sum(axis=1) + (true & ~hit).sum(axis=1)
        total += np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)
        present += denominator > 0
    return total / np.maximum(present, 1)


def _macro_f1(y: np.ndarray, p: np.ndarray) -> float:
    k = p.shape[1] if p.ndim == 2 else 2
    return float(macro_f1_resampled(y[None, :].astype(int), labels(p)[None, :], k)[0])


def _sk(name: str) -> Callable[[np.ndarray, np.ndarray], float]:
    def metric(y: np.ndarray, p: np.ndarray) -> float:
        from sklearn import metrics

        if name == "roc_auc":
            return float(metrics.roc_auc_score(y, p)) if len(np.unique(y)) > 1 else 0.5
        if name == "log_loss":
            return float(metrics.log_loss(y, np.clip(p, EPS, 1 - EPS), labels=[0, 1]))
        if name == "f1":
            return float(metrics.f1_score(y, labels(p), zero_division=0))
        return float(metrics.accuracy_score(y, labels(p)))

    return metric


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "rmse": _rmse, "mae": _mae, "r2": _r2,
    "roc_auc": _sk("roc_auc"), "f1": _sk("f1"), "log_loss": _sk("log_loss"),
    "accuracy": _sk("accuracy"), "macro_f1": _macro_f1,
}  # fmt: skip


def _check_multiclass(name: str, y: np.ndarray, p: np.ndarray) -> None:
    if name not in MULTICLASS:
        raise ValueError(f"{name} is not defined for a multi-class probability matrix "
                         f"({p.shape[1]} classes); use one of {list(MULTICLASS)}")  # fmt: skip
    if len(y) != len(p):
        raise ValueError(f"{len(y)} true labels for {len(p)} rows of probabilities")
    if len(y) and (np.any(y != np.round(y)) or y.min() < 0 or y.max() >= p.shape[1]):
        raise ValueError(f"multi-class truth must be class codes 0..{p.shape[1] - 1}, "
                         f"found {sorted(set(y.tolist()))[:5]}")  # fmt: skip


def score(name: str, y: np.ndarray, p: np.ndarray) -> float:
    """``name`` of predictions ``p`` against truth ``y`` (a matrix ``p``: multi-class)."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    if p.ndim == 2:
        _check_multiclass(name, y, p)
        if name == "macro_f1":
            return _macro_f1(y, p)
        return float(np.mean(row_values(name, y, p)))
    return METRICS[name](y, p)


def per_class_recall(y: Any, p: Any, threshold: float = 0.5) -> dict[int, float]:
    """Recall of each class code (0 and 1 for positive-class probabilities ``p``, 0..k-1 for a
    probability matrix); NaN for a class absent from ``y``."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    found = p.argmax(axis=1) if p.ndim == 2 else (p >= threshold).astype(float)
    codes = range(p.shape[1]) if p.ndim == 2 else (0, 1)
    return {
        c: float(np.mean(found[y == c] == c)) if np.any(y == c) else float("nan") for c in codes
    }


def improvement(name: str, champion: Any, challenger: Any) -> Any:
    """How much better the challenger is, in metric units (positive = better); elementwise."""
    return champion - challenger if name in LOWER_IS_BETTER else challenger - champion


def clears_floor(name: str, value: float, floor: float) -> bool:
    return value <= floor if name in LOWER_IS_BETTER else value >= floor
