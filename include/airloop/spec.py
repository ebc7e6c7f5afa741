"""Pipeline specs: what a pipeline is (source, schema, target, policies), validated from YAML.

The spec says *what*; the DAG factory owns *how* the DAGs are shaped. Unknown keys and bad
values are errors naming the file and the key. Cheap to import (pydantic and yaml only), so DAG
files may load specs at parse time.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    model_validator,
)

# The source sections live in their own module; re-exported, as callers import them from here.
from airloop.spec_monitoring import CALIBRATED_METHODS, DriftPolicySpec, MonitoringSpec
from airloop.spec_sources import (
    DriftScenarioSpec,
    FileSource,
    PythonSource,
    SimulatorSource,
    SqlSource,
)

__all__ = [
    "CALIBRATED_METHODS", "DriftPolicySpec", "DriftScenarioSpec", "FileSource", "MonitoringSpec",
    "PythonSource", "SimulatorSource", "SqlSource",
]  # fmt: skip
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"


class SpecError(ValueError):
    """A spec file is missing, unreadable or invalid; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Source = Annotated[
    SimulatorSource | FileSource | SqlSource | PythonSource, Field(discriminator="kind")
]


class ValidationSpec(_Strict):
    suite: str | None = None  # default: "<pipeline>.raw"
    # A batch with a larger share of failing rows is quarantined whole.
    max_failing_fraction: float = Field(0.1, ge=0, le=1)


class TrainingSpec(_Strict):
    """What a challenger is trained on and how."""

    window_days: int = Field(28, ge=2, le=3650)  # validated partitions up to the run's date
    holdout_days: int = Field(7, ge=1)  # the latest days form the frozen holdout
    min_rows: int = Field(100, ge=10)
    estimator: str = "sklearn.ensemble.HistGradientBoostingRegressor"  # dotted path
    params: dict[str, Any] = {}
    categorical_features: list[str] = []  # one-hot encoded; other features pass through
    reference_sample_rows: int = Field(5000, ge=100)  # kept for drift monitoring
    random_state: int = 0

    @model_validator(mode="after")
    def _holdout_fits(self) -> TrainingSpec:
        if self.holdout_days >= self.window_days:
            raise ValueError("holdout_days must be smaller than window_days")
        return self


Metric = Literal["rmse", "mae", "r2", "roc_auc", "f1", "log_loss", "accuracy", "macro_f1"]
BINARY_ONLY_METRICS = ("roc_auc", "f1")  # both need a positive class
# A class label is also a column name (proba_<label>) and an MLflow metric name.
CLASS_LABEL_PATTERN = r"^[A-Za-z0-9_.\- ]{1,60}$"


class PromotionSpec(_Strict):
    """When a challenger replaces the champion (see ``airloop.core.model.decision``)."""

    metric: Metric = "rmse"
    floor: float  # the challenger must be at least this good (≤ for errors, ≥ for scores)
    min_improvement: float = Field(0.01, ge=0, le=1)  # relative to the champion's metric
    tolerance: float = Field(0.0, ge=0, le=1)  # the CI may admit at most this relative regression
    confidence: float = Field(0.95, gt=0.5, lt=1)
    bootstrap_resamples: int = Field(1000, ge=100, le=100_000)
    seed: int = 0
    slices: list[str] = []
    slice_tolerance: float = Field(0.10, ge=0, le=10)  # relative regression allowed per slice
    min_slice_rows: int = Field(30, ge=1)
    approval: Literal["none", "required"] = "none"


class ReconcileSpec(_Strict):
    """The reconciler DAG: re-announces what a lost Asset event left undone (core.reconcile)."""

    schedule: str | None = "@hourly"
    grace_minutes: int = Field(30, ge=0)  # younger work may still have its event in flight
    lookback_days: int = Field(7, ge=1)  # data days before the newest validated day
    temp_max_age_minutes: int = Field(60, ge=1)  # older temporary files are a killed writer's


# history: an older version beats the champion on recent data (champion_history_report).
NotifyEvent = Literal["quarantine", "drift", "promotion", "rejection", "failure", "history"]


class NotifySpec(_Strict):
    """Where notifications go: the task log (default), email or Slack via Airflow notifiers."""

    kind: Literal["log", "smtp", "slack"] = "log"
    conn_id: str | None = None  # smtp: smtp_default; slack: slack_api_default
    to: list[str] = []  # smtp recipients
    channel: str | None = None  # slack channel
    events: list[NotifyEvent] = ["quarantine", "drift", "promotion", "rejection", "failure",
                                 "history"]  # fmt: skip

    @model_validator(mode="after")
    def _addressed(self) -> NotifySpec:
        if self.kind == "smtp" and not self.to:
            raise ValueError("notify.to needs at least one address for kind smtp")
        if self.kind == "slack" and not self.channel:
            raise ValueError("notify.channel is required for kind slack")
        return self


class PipelineSpec(_Strict):
    """One pipeline: its data contract, its source and its policies."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    task: Literal["regression", "classification"]
    target: str
    # Classification (binary): the target value that counts as the positive class (1).
    positive_class: StrictBool | StrictInt | StrictStr = 1
    # Classification (multi-class): every label, in a fixed order (the proba_<label> columns and
    # class codes follow it, so every model version scores the same way); None: binary.
    classes: list[StrictInt | StrictStr] | None = None
    key: list[str] = Field(min_length=1)  # unique per row; used for joins with late labels
    time_column: str | None = None
    features: list[str] = Field(min_length=1)
    # Columns that must never be features (e.g. leakage: casual + registered = cnt).
    exclude_features: list[str] = []
    schedule: str | None = "@daily"
    start_date: date
    source: Source
    validation: ValidationSpec = ValidationSpec()
    training: TrainingSpec = TrainingSpec()
    promotion: PromotionSpec | None = None
    monitoring: MonitoringSpec = MonitoringSpec()
    reconcile: ReconcileSpec = ReconcileSpec()
    notify: NotifySpec = NotifySpec()

    @model_validator(mode="after")
    def _consistent(self) -> PipelineSpec:
        if self.target in self.features:
            raise ValueError(f"target {self.target!r} must not be a feature")
        leaked = sorted(set(self.features) & set(self.exclude_features))
        if leaked:
            raise ValueError(f"features {leaked} are listed in exclude_features")
        if len(set(self.features)) != len(self.features):
            raise ValueError("features contain duplicates")
        unknown = sorted(set(self.training.categorical_features) - set(self.features))
        if unknown:
            raise ValueError(f"training.categorical_features {unknown} are not features")
        unknown = sorted(set(self.monitoring.columns or []) - set(self.features))
        if unknown:
            raise ValueError(f"monitoring.columns {unknown} are not features")
        compared = set(self.monitoring.columns or self.features)
        unknown = sorted(set(self.monitoring.thresholds) - compared)
        if unknown:
            raise ValueError(f"monitoring.thresholds {unknown} are not compared columns")
        unknown = sorted(set(self.monitoring.calendar) - set(self.features))
        if unknown:
            raise ValueError(f"monitoring.calendar {unknown} are not features")
        if self.promotion:
            regression = {"rmse", "mae", "r2"}
            if (self.promotion.metric in regression) != (self.task == "regression"):
                raise ValueError(
                    f"promotion.metric {self.promotion.metric!r} does not fit a {self.task} task"
                )
        if self.classes is not None:
            _check_classes(self)
        return self

    @property
    def multiclass(self) -> bool:
        return self.classes is not None

    @property
    def suite_name(self) -> str:
        return self.validation.suite or f"{self.name}.raw"

    def dag_id(self, stage: str) -> str:
        return f"{self.name}__{stage}"


def _check_classes(spec: PipelineSpec) -> None:
    """A multi-class classification's labels: distinct, of one type, usable as names."""
    classes = spec.classes or []
    if spec.task != "classification":
        raise ValueError(f"classes is for task classification, not {spec.task}")
    if "positive_class" in spec.model_fields_set:
        raise ValueError("set either positive_class (binary) or classes (multi-class), not both")
    if len(classes) < 3:
        raise ValueError(f"classes needs at least 3 labels, got {classes}; a two-class target is "
                         "binary: name its positive_class instead")  # fmt: skip
    if len({type(c) for c in classes}) > 1:
        raise ValueError(f"classes mixes integers and strings: {classes}")
    names = [str(c) for c in classes]
    if len(set(names)) != len(names):
        raise ValueError(f"classes contain duplicates: {classes}")
    bad = [c for c in names if not re.fullmatch(CLASS_LABEL_PATTERN, c)]
    if bad:
        raise ValueError(f"classes {bad} must be 1-60 letters, digits, spaces or _.- (each is "
                         "also a column name, proba_<label>)")  # fmt: skip
    clash = [c for c in names if c in (spec.target, "prediction")]
    if clash:  # Evidently's frames name the probability columns by the labels
        raise ValueError(f"classes {clash} clash with the target or prediction column's name")
    if spec.promotion and spec.promotion.metric in BINARY_ONLY_METRICS:
        raise ValueError(
            f"promotion.metric {spec.promotion.metric!r} is binary-only; a multi-class "
            "classification uses log_loss, accuracy or macro_f1"
        )


def pipelines_dir() -> Path:
    from airloop.settings import load_settings

    override = os.environ.get("AIRLOOP_PIPELINES_DIR")
    return Path(override) if override else load_settings().project_root / "include" / "pipelines"


def _format_error(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: invalid pipeline spec"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def _yaml_detail(text: str, error: yaml.YAMLError) -> yaml.YAMLError:
    """The pure-Python loader's error, which quotes the offending line; libyaml's does not."""
    try:
        yaml.safe_load(text)
    except yaml.YAMLError as detailed:
        return detailed
    return error


def load_spec_file(path: Path) -> PipelineSpec:
    """Parse and validate one YAML spec; raise :class:`SpecError` naming file and key."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpecError(f"{path}: cannot read spec: {exc.strerror or exc}") from None
    try:
        # libyaml's loader when built (~5× faster: every task process reads its spec twice)
        raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML: {_yaml_detail(text, exc)}") from None
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: a spec must be a YAML mapping, got {type(raw).__name__}")
    try:
        spec = PipelineSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(_format_error(path, exc)) from None
    if spec.name != path.stem:
        raise SpecError(f"{path}: name: {spec.name!r} must match the file name {path.stem!r}")
    return spec


def load_pipeline(name: str, directory: Path | None = None) -> PipelineSpec:
    """Load pipeline ``name`` from ``<directory>/<name>.yaml``."""
    directory = directory or pipelines_dir()
    path = directory / f"{name}.yaml"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in directory.glob("*.yaml"))) or "none"
        raise SpecError(f"unknown pipeline {name!r}: no {path} (known pipelines: {known})")
    return load_spec_file(path)
