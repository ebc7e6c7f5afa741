"""One dataset replayed day by day under one retraining strategy, in process (no Airflow).

The Airloop strategy runs the loop's own decisions: ``calibration`` (thresholds per champion,
from its window), ``calibration.statistic`` (the number Evidently reports, checked by a unit
test), ``quality_check``, ``drift_policy.decide`` and the promotion ``decision``; models come
from ``training.build_pipeline``. What it leaves out is the I/O: lake, MLflow, GX, Evidently's
HTML. The plain schedules (never, daily, every 7 days) refit on the whole window and swap the
model in without a gate, as a cron job would.

Each day the served model predicts that day's rows (its error is recorded); then the day's
labels are known (label delay 0) and the strategy may retrain for the next day.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from airloop.core.model import decision, metrics, training
from airloop.core.monitor import calibration, drift_policy, quality_check, thresholds
from airloop.spec import PipelineSpec

DAY = thresholds.DAY
STRATEGIES = ("airloop", "never", "daily", "every_7_days")


@dataclass
class Replay:
    """What one strategy did: the served error per day, its retrains and their reasons."""

    strategy: str
    days: list[date]
    daily_loss: list[float]  # mean per-row loss of the served model on each day
    daily_rows: list[int]
    retrains: list[tuple[date, str]] = field(default_factory=list)  # (day, kind or schedule)
    promotions: list[date] = field(default_factory=list)
    calibration_seconds: list[float] = field(default_factory=list)
    verdicts: list[tuple[date, str, str]] = field(default_factory=list)  # Airloop's decisions
    seconds: float = 0.0

    def served_error(self, metric: str) -> float:
        """The metric over every served row (RMSE: root of the row-weighted mean square)."""
        loss = np.average(self.daily_loss, weights=self.daily_rows)
        return float(np.sqrt(loss)) if metric == "rmse" else float(loss)


def row_loss(spec: PipelineSpec, y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per-row loss: squared error (regression) or log loss (binary classification)."""
    if spec.task == "regression":
        return (y - p) ** 2
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


class _Champion:
    def __init__(self, spec: PipelineSpec, model: Any, train: pd.DataFrame, holdout_metric: float):
        self.model, self.holdout_metric = model, holdout_metric
        n = min(spec.training.reference_sample_rows, len(train))
        self.reference = train.sample(n=n, random_state=spec.training.random_state)
        self.calibration: calibration.Calibration | None = None
        self.version = 0


def _window(frame: pd.DataFrame, days: list[date], end: int, size: int) -> pd.DataFrame:
    """The rows of the ``size`` days present up to and including ``days[end]``."""
    first = days[max(0, end - size + 1)]
    return frame[(frame[DAY] >= first) & (frame[DAY] <= days[end])]


def _split(spec: PipelineSpec, window: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    present = sorted(window[DAY].unique())
    start = present[-training.holdout_length(spec.training.holdout_days, len(present))]
    return window[window[DAY] < start], window[window[DAY] >= start]


def _fit(spec: PipelineSpec, rows: pd.DataFrame) -> Any:
    model = training.build_pipeline(spec)
    y = training.target_values(spec, rows[spec.target])
    model.fit(rows[spec.features], y.astype("int64") if spec.task == "classification" else y)
    return model


def _predict(spec: PipelineSpec, model: Any, rows: pd.DataFrame) -> np.ndarray:
    return np.asarray(training.predict(model, spec, rows), dtype=float)


def _y(spec: PipelineSpec, rows: pd.DataFrame) -> np.ndarray:
    return training.target_values(spec, rows[spec.target]).to_numpy(float)


def _challenger(spec: PipelineSpec, window: pd.DataFrame) -> tuple[_Champion, pd.DataFrame]:
    train, holdout = _split(spec, window)
    model = _fit(spec, train)
    metric = spec.promotion.metric if spec.promotion else "rmse"
    holdout_metric = metrics.score(metric, _y(spec, holdout), _predict(spec, model, holdout))
    return _Champion(spec, model, train, holdout_metric), holdout


def _calibrate(spec: PipelineSpec, champion: _Champion, window: pd.DataFrame, out: Replay) -> None:
    started = time.perf_counter()
    champion.calibration = thresholds.calibrate_frame(spec, window)
    out.calibration_seconds.append(time.perf_counter() - started)


def _drift_share(spec: PipelineSpec, champion: _Champion, current: pd.DataFrame) -> float:
    mon = spec.monitoring
    cur = current.sample(n=min(mon.sample_rows, len(current)), random_state=0)
    ref_all = champion.reference
    ref = ref_all.iloc[calibration.matched_positions(ref_all, cur, mon.calendar, mon.sample_rows,
                                                     spec.training.random_state)]  # fmt: skip
    resolved = thresholds.resolve(spec, champion.calibration)
    categorical = set(spec.training.categorical_features)
    drifted = 0
    for column, (limit, _) in resolved.items():
        kind = "cat" if column in categorical else "num"
        method = str(mon.stattests.get(f"{kind}_method", calibration.DEFAULT_METHODS[kind]))
        score = calibration.statistic(method, ref[column].to_numpy(), cur[column].to_numpy(),
                                      kind == "cat")  # fmt: skip
        drifted += score >= (limit if limit is not None else 0.1)
    return drifted / len(resolved)


def replay(spec: PipelineSpec, frame: pd.DataFrame, strategy: str, first: int) -> Replay:
    """Replay ``frame`` (rows with a ``_airloop_day`` date column) from day index ``first``."""
    started = time.perf_counter()
    days = sorted(frame[DAY].unique())
    by_day = {d: g for d, g in frame.groupby(DAY, sort=True)}
    size, policy, mon = spec.training.window_days, spec.monitoring.policy, spec.monitoring
    out = Replay(strategy, [], [], [])
    champion, _ = _challenger(spec, _window(frame, days, first - 1, size))
    if strategy == "airloop":
        _calibrate(spec, champion, _window(frame, days, first - 1, size), out)
    history: list[drift_policy.Observation] = []
    asked: list[drift_policy.PriorRequest] = []
    served: dict[date, np.ndarray] = {}
    last_promotion: date | None = None
    for t in range(first, len(days)):
        day, rows = days[t], by_day[days[t]]
        p = _predict(spec, champion.model, rows)
        served[day] = p
        out.days.append(day)
        out.daily_loss.append(float(row_loss(spec, _y(spec, rows), p).mean()))
        out.daily_rows.append(len(rows))
        window = _window(frame, days, t, size)
        if strategy == "daily" or (strategy == "every_7_days" and (t - first) % 7 == 6):
            champion = _Champion(spec, _fit(spec, window), window, float("nan"))
            out.retrains.append((day, strategy))
        if strategy != "airloop":
            continue
        current = _window(frame, days, t, mon.window_days)
        labelled_days = [d for d in current[DAY].unique() if d in served]
        y = np.concatenate([_y(spec, by_day[d]) for d in labelled_days])
        pred = np.concatenate([served[d] for d in labelled_days])
        metric = spec.promotion.metric if spec.promotion else "rmse"
        check = quality_check.check(
            metric, y, pred, champion.holdout_metric, tolerance=policy.quality_tolerance,
            confidence=policy.quality_confidence, min_rows=policy.quality_min_rows, resamples=200,
        )  # fmt: skip
        history.append(drift_policy.Observation(day, _drift_share(spec, champion, current),
                                                champion.version, check.degraded))  # fmt: skip
        found = drift_policy.decide(policy, day, history, champion.version, t + 1, asked,
                                    last_promotion, size)  # fmt: skip
        if found.action != "retrain":
            continue
        asked.append(drift_policy.PriorRequest(found.key or "", day))
        out.retrains.append((day, found.kind or "drift"))
        challenger, holdout = _challenger(spec, window)
        verdict = decision.decide(
            spec.promotion, _y(spec, holdout), _predict(spec, challenger.model, holdout),
            _predict(spec, champion.model, holdout),
        )  # fmt: skip
        out.verdicts.append((day, verdict.outcome, verdict.reason))
        if verdict.outcome == decision.PROMOTE:
            challenger.version = champion.version + 1
            _calibrate(spec, challenger, window, out)
            champion, last_promotion = challenger, day
            out.promotions.append(day)
    out.seconds = round(time.perf_counter() - started, 1)
    return out
