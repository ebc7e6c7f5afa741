"""The loop-quality benchmark's cases: a pipeline spec and its days, per dataset.

The simulators and the real bike data run under the shipped ``bike_demand`` and
``subscription_churn`` specs (their monitoring and policy sections as shipped), with fewer
boosting iterations so daily retraining over two years stays affordable (the same model for
every strategy). The daily real datasets get one spec shape scaled to one row a day: a
half-year training window, 3-week monitoring windows and a 28-day cooldown.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loop_datasets

from airloop.core.monitor.thresholds import DAY  # the day column training windows carry
from airloop.core.simulators import churn_simulator, simulator
from airloop.spec import PipelineSpec, load_spec_file

PIPELINES = Path(__file__).resolve().parents[1] / "include" / "pipelines"


@dataclass(frozen=True)
class Case:
    spec: PipelineSpec
    frame: pd.DataFrame  # rows with a ``_airloop_day`` date column, in time order
    first: int  # index of the first served day (the first model trains on the days before)
    change: dt.date | None  # a simulator's known change point
    citation: str


def _shipped(name: str, **training: Any) -> PipelineSpec:
    spec = load_spec_file(PIPELINES / f"{name}.yaml")
    params = {**spec.training.params, **training}
    return spec.model_copy(update={"training": spec.training.model_copy(update={"params": params})})


def _daily_spec(data: loop_datasets.LoopDataset, positive: Any = None) -> PipelineSpec:
    classify = data.task == "classification"
    raw = {
        "name": data.name, "task": data.task, "target": data.target, "key": ["day"],
        "features": data.features, "start_date": "2000-01-01", "schedule": None,
        "source": {"kind": "python", "callable": "loop_datasets:unused"},
        "training": {"window_days": 182, "holdout_days": 14, "min_rows": 60,
                     "estimator": "sklearn.ensemble.HistGradientBoosting"
                                  + ("Classifier" if classify else "Regressor"),
                     "params": {"max_iter": 100, "learning_rate": 0.08},
                     "categorical_features": data.categorical},
        "promotion": {"metric": "log_loss" if classify else "rmse", "floor": 1e9 if not classify
                      else 5.0, "min_improvement": 0.02, "bootstrap_resamples": 500},
        "monitoring": {"window_days": 14, "false_alarms_per_90_days": 1.0,
                       "calendar": [c for c in data.calendar if c in data.features],
                       "stattests": {"num_method": "wasserstein", "cat_method": "jensenshannon"},
                       "policy": {"drift_share": 0.5, "persistence_k": 2, "persistence_n": 3,
                                  "retry_days": 7, "cooldown_days": 7, "max_retrains": 12,
                                  "budget_days": 90, "initial_min_days": 182, "trigger": "either",
                                  "quality_min_rows": 10}},
    }  # fmt: skip
    if positive is not None:
        raw["positive_class"] = positive
    return PipelineSpec.model_validate(raw)


def _bike_sim(spec: PipelineSpec, days: int) -> pd.DataFrame:
    src = spec.source
    drift = simulator.DriftScenario(**src.drift.model_dump())
    frame = simulator.simulate_range(spec.start_date, days, seed=src.seed, drift=drift,
                                     missing_hour_rate=src.missing_hour_rate)  # fmt: skip
    return frame.assign(**{DAY: pd.to_datetime(frame["dteday"]).dt.date})


def _churn_sim(spec: PipelineSpec, days: int) -> pd.DataFrame:
    params = dict(spec.source.params)
    start = spec.start_date - dt.timedelta(days=60)  # two calm months more than the demo
    frames = [churn_simulator.simulate_day(start + dt.timedelta(days=i), **params)
              .assign(**{DAY: start + dt.timedelta(days=i)}) for i in range(days)]  # fmt: skip
    return pd.concat(frames, ignore_index=True)


@lru_cache(maxsize=2)
def cases(days: int | None = None) -> dict[str, Case]:
    """Every case this machine can run (the real bike data only where ``shared/`` is)."""
    found: dict[str, Case] = {}
    bike = _shipped("bike_demand", max_iter=100)
    first = bike.monitoring.policy.initial_min_days
    cap = days or 731
    found["bike_simulator"] = Case(bike, _bike_sim(bike, cap), first,
                                   bike.source.drift.start, "Airloop's bike simulator")  # fmt: skip
    churn = _shipped("subscription_churn")
    churn_days = min(cap, 150)
    found["churn_simulator"] = Case(churn, _churn_sim(churn, churn_days),
                                    churn.monitoring.policy.initial_min_days,
                                    dt.date.fromisoformat(churn.source.params["drift_start"]),
                                    "Airloop's subscription simulator")  # fmt: skip
    real = loop_datasets.bike_uci()
    if real is not None:
        frame = real.frame.assign(**{DAY: real.frame["day"]})
        frame = frame[frame[DAY] < frame[DAY].min() + dt.timedelta(days=cap)]
        found["bike_uci"] = Case(bike, frame, first, None, real.citation)
    for name, positive in (("seattle_weather", "rain"), ("trump_approval", None)):
        data = loop_datasets.LOADERS[name]()
        if data is None:
            continue
        frame = data.frame.assign(**{DAY: data.frame["day"]})
        frame = frame[frame[DAY] < frame[DAY].min() + dt.timedelta(days=max(cap, 400))]
        found[name] = Case(_daily_spec(data, positive), frame, 182, None, data.citation)
    return found
