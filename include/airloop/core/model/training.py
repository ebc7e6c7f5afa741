"""Training: a window of validated partitions → time-ordered split → a scikit-learn Pipeline."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd

from airloop.core.data.lake import Lake
from airloop.core.model import classes
from airloop.spec import PipelineSpec


class NotEnoughData(ValueError):
    """The window holds too few validated rows to train and evaluate honestly."""


@dataclass
class TrainingData:
    train: pd.DataFrame
    holdout: pd.DataFrame
    partitions: list[dict[str, Any]]  # lineage: date, uri, sha256, rows
    window: tuple[date, date]
    holdout_start: date
    notes: list[str] = field(default_factory=list)


def holdout_length(holdout_days: int, days_present: int) -> int:
    """Days of the holdout in a window of ``days_present`` days: ``holdout_days``, shortened to
    a quarter of the days present so a young pipeline still trains on most of its data (the
    scaffold plans the first model's wait with this same rule)."""
    return min(holdout_days, max(1, days_present // 4))


def load_window(
    lake: Lake, spec: PipelineSpec, end: date, window_days: int | None = None
) -> TrainingData:
    """Validated partitions in ``(end - window_days, end]``, split by date into train/holdout.

    The holdout is the latest ``holdout_days`` days, so every holdout row is later than every
    training row (a frozen, honest test of what the model will face next).
    """
    days = window_days or spec.training.window_days
    start = end - timedelta(days=days - 1)
    frames, partitions = [], []
    for day in lake.dates("validated"):
        if start <= day <= end:
            manifest = lake.manifest("validated", day) or {}
            frame = lake.read("validated", day)
            if frame is None or frame.empty:
                continue
            frames.append(frame.assign(_airloop_day=day))
            partitions.append(
                {
                    "date": day.isoformat(),
                    "uri": manifest.get("uri"),
                    "sha256": manifest.get("sha256"),
                    "rows": len(frame),
                }
            )
    if not frames:
        raise NotEnoughData(f"no validated partitions between {start} and {end}")
    data = pd.concat(frames, ignore_index=True)
    order = [c for c in [spec.time_column, *spec.key] if c and c in data.columns]
    data = data.sort_values(["_airloop_day", *order], kind="stable").reset_index(drop=True)
    present = sorted(data["_airloop_day"].unique())
    holdout_days = holdout_length(spec.training.holdout_days, len(present))
    holdout_start = present[-holdout_days]
    train = data[data["_airloop_day"] < holdout_start]
    holdout = data[data["_airloop_day"] >= holdout_start]
    if len(train) < spec.training.min_rows or len(holdout) < 10:
        raise NotEnoughData(
            f"{len(train)} training and {len(holdout)} holdout rows in "
            f"{start}..{end}; need at least {spec.training.min_rows} to train"
        )
    notes = []
    if holdout_days < spec.training.holdout_days:
        notes.append(f"holdout shortened to {holdout_days} days: only {len(present)} days present")
    return TrainingData(
        train.drop(columns="_airloop_day"),
        holdout.drop(columns="_airloop_day"),
        partitions,
        (start, end),
        holdout_start,
        notes,
    )


def _estimator(path: str, params: dict[str, Any]) -> Any:
    module, _, name = path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError, ValueError):
        raise ValueError(f"estimator {path!r} cannot be imported") from None
    try:
        return cls(**params)
    except TypeError as exc:
        raise ValueError(f"estimator {path}: bad parameters {params}: {exc}") from None


def build_pipeline(spec: PipelineSpec, overrides: dict[str, Any] | None = None) -> Any:
    """Preprocessing + estimator as one scikit-learn Pipeline (served and logged as a unit)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    categorical = spec.training.categorical_features
    numeric = [f for f in spec.features if f not in categorical]
    pre = ColumnTransformer(
        [("categorical", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
         ("numeric", "passthrough", numeric)],
        verbose_feature_names_out=False,
    )  # fmt: skip
    params = {**spec.training.params, **(overrides or {})}
    estimator = _estimator(spec.training.estimator, params)
    if "random_state" in estimator.get_params():
        estimator.set_params(random_state=params.get("random_state", spec.training.random_state))
    return Pipeline([("preprocess", pre), ("model", estimator)])


def target_values(spec: PipelineSpec, values: pd.Series) -> pd.Series:
    """The target as metrics see it: binary labels become 1.0 for ``positive_class`` and 0.0
    otherwise, multi-class labels their class code (missing stays NaN); regression targets
    pass through."""
    if spec.task != "classification":
        return values
    if spec.multiclass:
        return classes.codes(spec, values, "target_values")
    return (values == spec.positive_class).astype("float64").where(values.notna())


def _multiclass_target(spec: PipelineSpec, values: pd.Series) -> pd.Series:
    """The labels to fit on: checked against ``classes``; a class may be absent, not all but one."""
    labels = values.dropna()
    classes.codes(spec, labels, "the training window")
    if labels.nunique() < 2:
        raise NotEnoughData(
            f"the training window has a single class ({sorted(map(str, labels.unique()))}) of "
            f"classes {spec.classes}; a classifier needs at least two"
        )
    return labels


def _binary_target(spec: PipelineSpec, values: pd.Series) -> pd.Series:
    if spec.multiclass:
        return _multiclass_target(spec, values)
    encoded = target_values(spec, values).dropna()
    if spec.task == "classification" and encoded.nunique() < 2:
        seen = sorted(map(str, values.dropna().unique()))[:10]
        raise NotEnoughData(
            f"the training window has a single class: positive_class {spec.positive_class!r} "
            f"vs target values {seen}; a classifier needs both classes"
        )
    return encoded


def predict(model: Any, spec: PipelineSpec, frame: pd.DataFrame) -> Any:
    """Point predictions; for classification the positive-class probability, for multi-class
    the ``(n, k)`` probability matrix in the spec's class order."""
    features = frame[spec.features]
    if spec.multiclass:
        return classes.matrix(model, spec, features)
    if spec.task == "classification" and hasattr(model, "predict_proba"):
        return model.predict_proba(features)[:, 1]
    return model.predict(features)


def fit(spec: PipelineSpec, data: TrainingData, overrides: dict[str, Any] | None = None) -> Any:
    model = build_pipeline(spec, overrides)
    y = _binary_target(spec, data.train[spec.target])
    binary = spec.task == "classification" and not spec.multiclass
    x = data.train.loc[y.index, spec.features]
    # scikit-learn's message for this is "window shape cannot be larger than input array shape".
    empty = [f for f in spec.features if f not in spec.training.categorical_features
             and x[f].isna().all()]  # fmt: skip
    if empty:
        raise NotEnoughData(
            f"numeric feature(s) {empty} have no value in the {len(x)} labelled training rows "
            f"of {data.window[0]}..{data.window[1]}: wait for their data, or move them from "
            "features to exclude_features"
        )
    model.fit(x, y.astype("int64") if binary else y)
    return model


def reference_sample(spec: PipelineSpec, data: TrainingData, model: Any) -> pd.DataFrame:
    """A fixed-size, seeded sample of training rows with predictions, for drift monitoring."""
    n = min(spec.training.reference_sample_rows, len(data.train))
    sample = data.train.sample(n=n, random_state=spec.training.random_state)
    columns = [*spec.features, spec.target]
    if spec.multiclass:  # labels as they are, for Evidently's multi-class quality and drift
        found = classes.predictions(spec, predict(model, spec, sample))
        return sample[columns].assign(**found).reset_index(drop=True)
    return (
        sample[columns]
        .assign(**{spec.target: target_values(spec, sample[spec.target])})
        .assign(prediction=predict(model, spec, sample))
        .reset_index(drop=True)
    )
