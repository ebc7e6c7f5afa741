"""Batch scoring: a validated partition + a model version → a predictions partition."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from airloop.core.data.lake import Lake
from airloop.core.model import classes, training
from airloop.spec import PipelineSpec

if TYPE_CHECKING:
    from airloop.core.pipeline import Pipeline

ZONE = "predictions"


class NothingToScore(LookupError):
    """There is no validated partition for the date."""


def predictions_frame(
    spec: PipelineSpec, frame: pd.DataFrame, model: Any, version: int, run_id: str
) -> pd.DataFrame:
    """Key columns + prediction, with the model version and run id on every row.

    Classification: ``prediction`` is the positive-class probability; ``predicted_label``
    the 0.5-threshold label. Multi-class: ``prediction`` is the most probable label and
    ``proba_<label>`` each class's probability.
    """
    keep = list(dict.fromkeys([*spec.key, *([spec.time_column] if spec.time_column else [])]))
    out = frame[keep].copy()
    if spec.multiclass:
        out = out.assign(**classes.predictions(spec, training.predict(model, spec, frame)))
    else:
        out["prediction"] = training.predict(model, spec, frame)
    if spec.task == "classification" and not spec.multiclass:
        out["predicted_label"] = (out["prediction"] >= 0.5).astype("int64")
    out["model_version"] = int(version)
    out["model_run_id"] = run_id
    return out


def score_day(
    lake: Lake,
    spec: PipelineSpec,
    day: date,
    version: int,
    run_id: str,
    load_model: Any,
    airflow_run_id: str,
) -> dict[str, Any]:
    """Score ``day``'s validated partition with ``version``; publish it; return the manifest.

    Idempotent: the same validated data scored by the same version is not written again, and a
    re-run with a new champion replaces the partition atomically (the manifest commits it).
    """
    validated = lake.manifest("validated", day)
    if validated is None:
        raise NothingToScore(f"no validated partition of {spec.name} for {day}")
    existing = lake.manifest(ZONE, day)
    if (
        existing
        and existing.get("model_version") == int(version)
        and existing.get("validated_sha256") == validated["sha256"]
    ):
        return {**existing, "reused": True}
    frame = lake.read("validated", day)
    scored = predictions_frame(spec, frame, load_model(), version, run_id)
    meta = {
        "model_version": int(version),
        "model_run_id": run_id,
        "validated_sha256": validated["sha256"],
        "airflow_run_id": airflow_run_id,
    }
    manifest = lake.publish(ZONE, day, scored, meta, owner=airflow_run_id, replace=True)
    return {**manifest, "reused": False}


@dataclass(frozen=True)
class Scored:
    """One scoring run: the champion version used (None: no champion, nothing scored) and the
    predictions partition of each date."""

    version: int | None
    days: list[dict[str, Any]] = field(default_factory=list)


def score_days(pipeline: Pipeline, days: list[date], airflow_run_id: str) -> Scored:
    """Resolve @champion once and score every date with it (the score DAG's one task).

    The alias is resolved once, so every row of this run carries the same version even if a
    promotion lands meanwhile (the next run picks it up). The model is loaded only when a day
    needs scoring: a rerun reuses unchanged partitions.
    """
    champion = pipeline.model.champion()
    if champion is None:
        return Scored(None)
    model: list[Any] = []

    def load() -> Any:
        if not model:
            model.append(pipeline.model.load(champion.version))
        return model[0]

    lake, spec, version, run_id = pipeline.lake, pipeline.spec, champion.version, champion.run_id
    manifests = [score_day(lake, spec, day, version, run_id, load, airflow_run_id) for day in days]
    return Scored(version, manifests)
