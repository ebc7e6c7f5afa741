"""Frames as drift compares them: seeded row samples, numpy-backed copies, labelled pairs.

Pure pandas and numpy (no Evidently): the frame preparation of :mod:`airloop.core.monitor.drift`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from airloop.core.model.classes import PROBA_PREFIX

PREDICTION = "prediction"


def check_inputs(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    features: Sequence[str],
    target: str,
    task: str,
    categorical: Sequence[str],
    current_predictions: pd.Series | None,
) -> None:
    """What :func:`airloop.core.monitor.drift.compute` refuses, with what is wrong where."""
    if task not in ("regression", "classification"):
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


def sample_positions(n: int, cap: int, seed: int, stream: int) -> np.ndarray:
    """Positions of a seeded sample of at most ``cap`` rows, in their original order."""
    if n <= cap:
        return np.arange(n)
    return np.sort(np.random.default_rng([seed, stream]).choice(n, size=cap, replace=False))


def numpy_frame(
    frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]
) -> pd.DataFrame:
    """A numpy-backed copy: Evidently mishandles pandas nullable dtypes (Int64, Float64, string)."""
    out: dict[str, np.ndarray] = {}
    for col in numeric:
        try:
            values = pd.to_numeric(frame[col], errors="raise")
        except (TypeError, ValueError) as exc:
            raise ValueError(f"column {col!r} is treated as numeric but holds {exc}") from exc
        out[col] = values.to_numpy(dtype="float64", na_value=np.nan)
    for col in categorical:
        s = frame[col]  # nullable (string, Int64, category): objects, NaN for missing
        nullable = isinstance(s.dtype, pd.api.extensions.ExtensionDtype)
        out[col] = s.to_numpy(dtype=object, na_value=np.nan) if nullable else s.to_numpy()
    return pd.DataFrame(out)


def multiclass_frame(frame: pd.DataFrame, target: str, classes: Sequence[Any]) -> pd.DataFrame:
    """Target and predicted labels and the ``proba_<label>`` columns, rows with all present."""
    probas = [f"{PROBA_PREFIX}{c}" for c in classes]
    missing = [c for c in (target, PREDICTION, *probas) if c not in frame.columns]
    if missing:
        raise ValueError(f"multi-class labelled rows need columns {missing}")
    out = numpy_frame(frame, probas, [target, PREDICTION]).dropna()
    unknown = sorted(map(str, set(out[target]) - set(classes)))
    if unknown:
        raise ValueError(f"multi-class target {target!r} holds labels {unknown[:5]} that are not "
                         f"in the spec's classes {list(classes)}")  # fmt: skip
    return out


def truth_and_scores(
    frame: pd.DataFrame, target: str, classes: Sequence[Any] | None
) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`airloop.core.model.metrics.score` takes: the truth (0/1, class codes or
    values) and the predictions (a vector, or the multi-class probability matrix)."""
    if not classes:
        return frame[target].to_numpy(float), frame[PREDICTION].to_numpy(float)
    codes = frame[target].map({c: i for i, c in enumerate(classes)}).to_numpy(float)
    return codes, frame[[f"{PROBA_PREFIX}{c}" for c in classes]].to_numpy(float)


def labelled_frame(
    frame: pd.DataFrame, target: str, task: str, classes: Sequence[Any] | None = None
) -> pd.DataFrame:
    """Target and prediction only, rows with both present; binary labels as 0/1 ints.

    ``classes``: a multi-class target, kept as its labels with the probability columns."""
    if classes:
        return multiclass_frame(frame, target, classes)
    missing = [c for c in (target, PREDICTION) if c not in frame.columns]
    if missing:
        raise ValueError(f"labelled rows need columns {missing}")
    out = numpy_frame(frame, [target, PREDICTION], []).dropna()
    if task == "classification":
        bad = sorted({float(v) for v in out[target].unique()} - {0.0, 1.0})
        if bad:
            raise ValueError(f"classification target {target!r} must be 0/1, found {bad[:5]}")
        out[target] = out[target].astype("int64")
    return out


def quality_sides(
    labelled: pd.DataFrame | None,
    ref: pd.DataFrame,
    target: str,
    task: str,
    cap: int,
    seed: int,
    classes: Sequence[Any] | None = None,
) -> dict[str, pd.DataFrame]:
    """Labelled rows (sampled) and the reference sample, as target + prediction; {} if none."""
    some = labelled is not None and len(labelled)
    lab = labelled_frame(labelled, target, task, classes) if some else None
    if lab is None or not len(lab):
        return {}
    probas = [f"{PROBA_PREFIX}{c}" for c in classes or []]
    missing = [c for c in (target, PREDICTION, *probas) if c not in ref.columns]
    if missing:
        raise ValueError(f"reference lacks {missing}, needed for reference quality")
    lab = lab.iloc[sample_positions(len(lab), cap, seed, 2)].reset_index(drop=True)
    return {"current": lab, "reference": labelled_frame(ref, target, task, classes)}
