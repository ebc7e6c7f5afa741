"""Train a challenger and evaluate it against the champion on the same frozen holdout."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from airloop.core.data.lake import Lake
from airloop.core.model import decision, metrics, registry, training
from airloop.spec import PipelineSpec

HOLDOUT_FILE = "holdout.parquet"
REFERENCE_FILE = "reference.parquet"


def _quality(spec: PipelineSpec, y: Any, pred: Any) -> dict[str, float]:
    if spec.task == "regression":
        return {f"holdout_{n}": metrics.score(n, y, pred) for n in ("rmse", "mae", "r2")}
    y = training.target_values(spec, y)
    if spec.multiclass:
        return _multiclass_quality(spec, y, pred)
    found = {f"holdout_{n}": metrics.score(n, y, pred)
             for n in ("roc_auc", "f1", "log_loss", "accuracy")}  # fmt: skip
    recall = metrics.per_class_recall(y, pred)
    found |= {f"holdout_recall_{side}": recall[label]
              for side, label in (("negative", 0), ("positive", 1))}  # fmt: skip
    found["holdout_positive_rate"] = float(y.mean())  # the class balance it was judged on
    return found


def _multiclass_quality(spec: PipelineSpec, y: pd.Series, pred: Any) -> dict[str, float]:
    """Log loss, accuracy and macro F1, each class's recall and share (NaN: absent)."""
    keep = y.notna().to_numpy()
    y, pred = y.to_numpy(float)[keep], pred[keep]
    found = {f"holdout_{n}": metrics.score(n, y, pred) for n in metrics.MULTICLASS}
    recall = metrics.per_class_recall(y, pred)
    for code, label in enumerate(spec.classes or []):
        found[f"holdout_recall_{label}"] = recall[code]
        found[f"holdout_share_{label}"] = float((y == code).mean()) if len(y) else float("nan")
    return found


def train(
    lake: Lake,
    spec: PipelineSpec,
    end: date,
    tags: dict[str, str],
    window_days: int | None = None,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Fit on the window ending ``end``; log and register in MLflow as ``@challenger``.

    Idempotent per Airflow run: a retry finds the version its first try registered.
    """
    existing = registry.version_for_airflow_run(spec.name, tags["dag_id"], tags["airflow_run_id"])
    if existing:
        # The earlier try may have died between registering and aliasing (see registry); finish
        # its work, but never move @challenger back from a newer run's version.
        alias = registry.alias_version(spec.name, registry.CHALLENGER)
        if alias is None or alias < existing["version"]:
            registry.set_alias(spec.name, registry.CHALLENGER, existing["version"])
        return {**existing, "reused": True}
    data = training.load_window(lake, spec, end, window_days)
    model = training.fit(spec, data, overrides)
    holdout_pred = training.predict(model, spec, data.holdout)
    quality = _quality(spec, data.holdout[spec.target], holdout_pred)
    window = f"{data.window[0]}..{data.window[1]}"
    all_tags = {
        **tags,
        "pipeline": spec.name,
        "data_window": window,
        "train_end": str(data.holdout_start),
        "holdout_start": str(data.holdout_start),
    }
    params = {
        "estimator": spec.training.estimator,
        **spec.training.params,
        **(overrides or {}),
        "window": window,
        "train_rows": len(data.train),
        "holdout_rows": len(data.holdout),
        "features": ",".join(spec.features),
    }
    lake_uri = str(lake.base / "validated")
    registered = registry.log_and_register(
        spec.name,
        model,
        params,
        quality,
        all_tags,
        datasets=[(data.train, lake_uri, "training"), (data.holdout, lake_uri, "holdout")],
        artifacts={
            HOLDOUT_FILE: data.holdout,
            REFERENCE_FILE: training.reference_sample(spec, data, model),
            "partitions.json": {"partitions": data.partitions, "notes": data.notes},
        },
        input_example=data.train[spec.features].head(5),
    )
    _calibrate(lake, spec, data, registered)
    return {**registered, "reused": False, "window": window, "metrics": quality}


def _calibrate(
    lake: Lake, spec: PipelineSpec, data: training.TrainingData, registered: dict[str, Any]
) -> None:
    """The version's own drift thresholds, from its training window (monitor.thresholds)."""
    from airloop.core.monitor import thresholds

    found = thresholds.calibrate_frame(spec, thresholds.window_frame(data))
    if found is not None:
        thresholds.save(lake, int(registered["version"]), found)
        registry.log_run_dict(registered["run_id"], found.to_record(), "calibration.json")


def _comparable_holdout(
    spec: PipelineSpec, holdout: pd.DataFrame, champion_tags: dict
) -> tuple[pd.DataFrame, str | None]:
    """Holdout rows the champion never trained on, when there are enough of them."""
    champion_end = champion_tags.get("holdout_start")  # the champion trained on days before this
    time_col = spec.time_column
    if not champion_end or not time_col or time_col not in holdout:
        return holdout, None
    unseen = holdout[pd.to_datetime(holdout[time_col]).dt.date.astype(str) >= champion_end]
    if len(unseen) >= max(spec.promotion.min_slice_rows if spec.promotion else 30, 50):
        return unseen, None
    return holdout, (
        f"the champion trained on part of this holdout (only {len(unseen)} unseen "
        "rows); the comparison favours the champion"
    )


def evaluate(spec: PipelineSpec, trained: dict[str, Any], force: bool = False) -> dict[str, Any]:
    """Score challenger and champion on the same holdout; decide; record it on the version."""
    if spec.promotion is None:
        raise ValueError(f"pipeline {spec.name} has no promotion policy in its spec")
    name, version = spec.name, int(trained["version"])
    holdout = registry.load_artifact_frame(trained["run_id"], HOLDOUT_FILE)
    champion = registry.alias_version(name, registry.CHAMPION)
    note = None
    champion_pred = None
    if champion is not None and champion != version:
        info = registry.version_info(name, champion) or {"tags": {}}
        holdout, note = _comparable_holdout(spec, holdout, info["tags"])
        champion_pred = training.predict(registry.load_model(name, champion), spec, holdout)
    challenger_pred = training.predict(registry.load_model(name, version), spec, holdout)
    slices = holdout[spec.promotion.slices] if spec.promotion.slices else None
    y = training.target_values(spec, holdout[spec.target])
    found = decision.decide(spec.promotion, y, challenger_pred, champion_pred, slices, force=force)
    record = {
        **found.record(),
        "challenger_version": version,
        "champion_version": champion,
        "note": note,
        "forced": force,
    }
    registry.log_run_dict(trained["run_id"], record, "decision.json")
    registry.tag_version(
        name,
        version,
        {
            "airloop.decision": found.outcome,
            "airloop.decision_reason": found.reason,
            "airloop.decision_record": record,
        },
    )
    return record
