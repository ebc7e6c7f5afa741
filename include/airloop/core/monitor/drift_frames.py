"""Frames as drift compares them: seeded row samples, numpy-backed copies, labelled pairs.

Pure pandas and numpy (no Evidently): the frame preparation of :mod:`airloop.core.monitor.drift`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

PREDICTION = "prediction"


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


def labelled_frame(frame: pd.DataFrame, target: str, task: str) -> pd.DataFrame:
    """Target and prediction only, rows with both present; binary labels as 0/1 ints."""
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
    labelled: pd.DataFrame | None, ref: pd.DataFrame, target: str, task: str, cap: int, seed: int
) -> dict[str, pd.DataFrame]:
    """Labelled rows (sampled) and the reference sample, as target + prediction; {} if none."""
    lab = labelled_frame(labelled, target, task) if labelled is not None and len(labelled) else None
    if lab is None or not len(lab):
        return {}
    missing = [c for c in (target, PREDICTION) if c not in ref.columns]
    if missing:
        raise ValueError(f"reference lacks {missing}, needed for reference quality")
    lab = lab.iloc[sample_positions(len(lab), cap, seed, 2)].reset_index(drop=True)
    return {"current": lab, "reference": labelled_frame(ref, target, task)}
