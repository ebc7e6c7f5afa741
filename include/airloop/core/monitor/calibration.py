"""Drift thresholds calibrated on the champion's own training window, at a target false-alarm rate.

Pure numpy/scipy. Why not Evidently's defaults: at thousands of rows its per-column tests flag
almost every day (weather is autocorrelated; a week is never a fresh draw from six weeks), and a
fixed distance threshold means different things for ``temp`` and ``windspeed``. So, per column:

1. **Null distribution.** Days of the training window are resampled as monitoring will see
   them: a block of ``window_days`` consecutive days is the "current" window, the rest of the
   training window the "reference", each sampled to the row counts monitoring uses. Each draw
   gives the column's drift statistic (:func:`statistic`, the same number Evidently reports; a
   test checks they agree). This is drift that is *not* a change: ordinary week-to-week
   variation, including the slow seasonal trend inside the window.
2. **Like with like.** Where the data has a calendar (``calendar`` columns: hour, weekday), the
   reference rows are drawn with the current window's calendar mix (:func:`matched_positions`),
   in calibration and in monitoring alike, so a window of weekends is compared with weekends.
   Seasons are not removed: the reference only holds the champion's own window, so a season the
   champion has never seen is exactly what may hurt it. Whether it does is the quality trigger's
   call (``policy.trigger: both`` retrains only when the error has degraded too).
3. **Threshold.** A day drifts when at least ``c`` of the ``m`` compared columns exceed their
   thresholds. By Markov's inequality P(≥ c exceed) ≤ m·α/c whatever the columns' correlation,
   so a per-column tail probability α = α_day·c/m keeps the day's false-alarm rate at most
   α_day = target / 90. The threshold is the larger of the empirical (1-α) quantile and a
   log-normal fit's, since 200 draws do not reach a 1 % tail on their own.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

from airloop.spec_monitoring import CALIBRATED_METHODS as METHODS

DEFAULT_METHODS = {"num": "wasserstein", "cat": "jensenshannon"}


def statistic(method: str, reference: np.ndarray, current: np.ndarray, categorical: bool) -> float:
    """Evidently's drift statistic for one column (NaN dropped), as its stattests compute it."""
    ref, cur = pd.Series(reference).dropna(), pd.Series(current).dropna()
    if not len(ref) or not len(cur):
        return 0.0
    if method == "wasserstein":
        norm = max(float(np.std(ref.to_numpy(float))), 0.001)
        return float(stats.wasserstein_distance(ref.to_numpy(float), cur.to_numpy(float)) / norm)
    if method == "jensenshannon":  # evidently.legacy...stattests.utils.get_binned_data
        if not categorical and ref.nunique() > 20:
            edges = np.histogram_bin_edges(np.concatenate([ref, cur]).astype(float), "sturges")
            p = np.histogram(ref.to_numpy(float), edges)[0] / len(ref)
            q = np.histogram(cur.to_numpy(float), edges)[0] / len(cur)
        else:
            keys = list(pd.unique(pd.concat([ref, cur])))
            p = ref.value_counts().reindex(keys, fill_value=0).to_numpy() / len(ref)
            q = cur.value_counts().reindex(keys, fill_value=0).to_numpy() / len(cur)
        return float(distance.jensenshannon(p, q))
    raise ValueError(f"calibration supports stattests {list(METHODS)}, got {method!r}")


def matched_positions(
    reference: pd.DataFrame, current: pd.DataFrame, calendar: Sequence[str], n: int, seed: int
) -> np.ndarray:
    """Positions of ``n`` reference rows drawn with the current rows' calendar mix (seeded).

    Strata the reference lacks are filled from the whole reference; no calendar: a plain draw.
    """
    rng = np.random.default_rng([seed, 7])
    n = min(n, len(reference))
    cols = [c for c in calendar if c in reference.columns and c in current.columns]
    if not cols:
        return np.sort(rng.choice(len(reference), size=n, replace=False))
    ref_keys, cur_keys = _strata(reference, cols), _strata(current, cols)
    cur_share = cur_keys.value_counts(normalize=True)
    groups = pd.Series(np.arange(len(reference))).groupby(ref_keys.to_numpy()).indices
    picked: list[np.ndarray] = []
    for key, share in cur_share.items():
        pool = groups.get(key)
        want = round(share * n)
        if pool is not None and want:
            picked.append(rng.choice(pool, size=want, replace=len(pool) < want))
    chosen = np.concatenate(picked) if picked else np.array([], dtype=int)
    if len(chosen) < n:  # strata the reference lacks, and rounding
        chosen = np.concatenate([chosen, rng.choice(len(reference), n - len(chosen))])
    return np.sort(chosen[:n])


def _strata(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    key = frame[columns[0]].astype(str)
    for column in columns[1:]:
        key = key + "|" + frame[column].astype(str)
    return key.reset_index(drop=True)


@dataclass(frozen=True)
class Calibration:
    """Per-column thresholds and the null distribution they came from (JSON-able)."""

    thresholds: dict[str, float]
    methods: dict[str, str]
    null_quantiles: dict[str, dict[str, float]]  # column -> p50, p95, max of the null draws
    false_alarms_per_90_days: float
    column_alpha: float
    day_alpha: float
    resamples: int
    window_days: int
    block_days: int
    current_rows: int
    reference_rows: int
    calendar: list[str]
    days: list[str]  # first and last day of the window calibrated on
    seconds: float
    notes: list[str]

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Calibration:
        return cls(**record)


def _threshold(null: np.ndarray, alpha: float) -> float:
    positive = np.maximum(null, 1e-9)
    logs = np.log(positive)
    fitted = math.exp(logs.mean() + stats.norm.ppf(1 - alpha) * max(logs.std(ddof=1), 1e-6))
    empirical = float(np.quantile(null, 1 - alpha)) if len(null) * alpha >= 5 else null.max()
    return float(f"{max(fitted, empirical):.6g}")


def calibrate(
    frame: pd.DataFrame,
    *,
    day_column: str,
    columns: Sequence[str],
    categorical: Sequence[str],
    methods: dict[str, str],
    window_days: int,
    sample_rows: int,
    reference_rows: int,
    drift_share: float,
    false_alarms_per_90_days: float,
    calendar: Sequence[str] = (),
    resamples: int = 200,
    seed: int = 0,
) -> Calibration:
    """Thresholds for ``columns`` from ``frame`` (the training window, one row per record)."""
    started = time.perf_counter()
    missing = [c for c in [day_column, *columns] if c not in frame.columns]
    if missing:
        raise ValueError(f"calibration: the training window lacks columns {missing}")
    days = np.array(sorted(frame[day_column].unique()))
    notes: list[str] = []
    block = window_days
    if len(days) < 2 * window_days:
        block = max(1, len(days) // 2)
        notes.append(f"only {len(days)} days to calibrate on: {block}-day blocks, not "
                     f"{window_days}; thresholds may be optimistic")  # fmt: skip
    if len(days) < 2:
        raise ValueError(f"calibration needs at least 2 days of data, got {len(days)}")
    kinds = {c: "cat" if c in set(categorical) else "num" for c in columns}
    chosen = {c: methods.get(kinds[c]) or DEFAULT_METHODS[kinds[c]] for c in columns}
    rng = np.random.default_rng(seed)
    positions = pd.Series(np.arange(len(frame))).groupby(frame[day_column].to_numpy()).indices
    null = {c: np.empty(resamples) for c in columns}
    cur_n = ref_n = 0
    for i in range(resamples):
        start = int(rng.integers(0, len(days) - block + 1))
        in_block = days[start : start + block]
        cur_pos = np.concatenate([positions[d] for d in in_block])
        ref_pos = np.concatenate([positions[d] for d in days if d not in set(in_block)])
        cur_pos = rng.choice(cur_pos, size=min(sample_rows, len(cur_pos)), replace=False)
        cur, ref_all = frame.iloc[cur_pos], frame.iloc[ref_pos]
        ref_size = min(sample_rows, reference_rows, len(ref_all))
        ref = ref_all.iloc[matched_positions(ref_all, cur, calendar, ref_size, seed + i)]
        cur_n, ref_n = len(cur), len(ref)
        for c in columns:
            null[c][i] = statistic(chosen[c], ref[c].to_numpy(), cur[c].to_numpy(),
                                   kinds[c] == "cat")  # fmt: skip
    need = max(1, math.ceil(drift_share * len(columns) - 1e-9))
    day_alpha = min(0.5, false_alarms_per_90_days / 90)
    alpha = min(0.5, day_alpha * need / len(columns))
    return Calibration(
        thresholds={c: _threshold(null[c], alpha) for c in columns},
        methods=chosen,
        null_quantiles={c: {"p50": float(f"{np.median(v):.6g}"),
                            "p95": float(f"{np.quantile(v, 0.95):.6g}"),
                            "max": float(f"{v.max():.6g}")} for c, v in null.items()},
        false_alarms_per_90_days=false_alarms_per_90_days, column_alpha=alpha,
        day_alpha=day_alpha, resamples=resamples, window_days=window_days, block_days=block,
        current_rows=cur_n, reference_rows=ref_n, calendar=list(calendar),
        days=[str(days[0]), str(days[-1])], seconds=round(time.perf_counter() - started, 3),
        notes=notes,
    )  # fmt: skip
