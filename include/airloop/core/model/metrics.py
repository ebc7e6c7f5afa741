"""Model quality metrics by name, with their direction (numpy/sklearn only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

LOWER_IS_BETTER = {"rmse", "mae", "log_loss"}


def _rmse(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - p) ** 2)))


def _mae(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(np.abs(y - p)))


def _r2(y: np.ndarray, p: np.ndarray) -> float:
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return 1.0 - float(np.sum((y - p) ** 2)) / ss_tot if ss_tot else 0.0


def _sk(name: str) -> Callable[[np.ndarray, np.ndarray], float]:
    def metric(y: np.ndarray, p: np.ndarray) -> float:
        from sklearn import metrics

        if name == "roc_auc":
            return float(metrics.roc_auc_score(y, p)) if len(np.unique(y)) > 1 else 0.5
        if name == "log_loss":
            return float(metrics.log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1]))
        labels = (p >= 0.5).astype(int) if p.dtype.kind == "f" else p
        if name == "f1":
            return float(metrics.f1_score(y, labels, zero_division=0))
        return float(metrics.accuracy_score(y, labels))

    return metric


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "rmse": _rmse, "mae": _mae, "r2": _r2,
    "roc_auc": _sk("roc_auc"), "f1": _sk("f1"), "log_loss": _sk("log_loss"),
    "accuracy": _sk("accuracy"),
}  # fmt: skip


def score(name: str, y: np.ndarray, p: np.ndarray) -> float:
    """``name`` of predictions ``p`` against truth ``y``."""
    return METRICS[name](np.asarray(y, dtype=float), np.asarray(p, dtype=float))


def per_class_recall(y: Any, p: Any, threshold: float = 0.5) -> dict[int, float]:
    """Recall of class 0 and class 1 for positive-class probabilities ``p`` (NaN if absent)."""
    y = np.asarray(y, dtype=float)
    labels = (np.asarray(p, dtype=float) >= threshold).astype(float)
    return {
        c: float(np.mean(labels[y == c] == c)) if np.any(y == c) else float("nan") for c in (0, 1)
    }


def improvement(name: str, champion: float, challenger: float) -> float:
    """How much better the challenger is, in metric units (positive = better)."""
    return champion - challenger if name in LOWER_IS_BETTER else challenger - champion


def clears_floor(name: str, value: float, floor: float) -> bool:
    return value <= floor if name in LOWER_IS_BETTER else value >= floor
