"""The defaults of a scaffolded spec per task type, and its YAML with the reasons as comments."""

from __future__ import annotations

from datetime import date
from typing import Any

import yaml

from airloop.core.authoring.scaffold_plan import DayRows, describe, plan

# Regularised, early-stopping boosting: first models train on a few days of rows, where the
# library defaults overfit (in-sample ROC AUC 1.0, positive recall 0.3 on a test file; these
# settings: 0.93 and 0.57 at the same out-of-sample AUC).
_BOOSTING = {
    "max_iter": 300,
    "learning_rate": 0.05,
    "max_leaf_nodes": 15,
    "min_samples_leaf": 20,
    "l2_regularization": 1.0,
    "early_stopping": True,
}
ESTIMATORS = {
    "regression": ("sklearn.ensemble.HistGradientBoostingRegressor", _BOOSTING),
    # class_weight=balanced: a rare positive class weighs as much as the common one in training.
    "classification": ("sklearn.ensemble.HistGradientBoostingClassifier",
                       {**_BOOSTING, "class_weight": "balanced"}),
}  # fmt: skip
# ROC AUC: threshold-free and insensitive to class balance, so the bootstrap decision compares
# ranking quality; 0.6 is a floor clearly above a coin flip (0.5).
CLASSIFICATION_FLOOR = 0.6
# Evidently's own defaults for large samples, fixed so small daily windows use the same tests.
# Distances whose thresholds each champion calibrates on its own window (monitor.calibration).
STATTESTS = {"num_method": "wasserstein", "cat_method": "jensenshannon"}


def build_spec(
    *,
    name: str,
    task: str,
    target: str,
    positive_class: Any,
    key: list[str],
    time_column: str | None,
    features: list[str],
    categorical: list[str],
    exclude: list[str],
    start_date: date,
    source: dict[str, Any],
    rows: DayRows,
    floor: float | None,
    slices: list[str],
    min_rows: int,
    notes: list[str],
    classes: list[Any] | None = None,
) -> dict[str, Any]:
    """A complete spec dict; validated with :class:`airloop.spec.PipelineSpec` before return.

    ``classes``: a multi-class target's labels (``positive_class`` is then unused)."""
    from airloop.spec import PipelineSpec

    estimator, params = ESTIMATORS[task]
    days = plan(rows, min_rows)
    min_rows, initial = days.min_rows, days.initial_min_days
    if task == "regression":
        # The RMSE of always predicting the mean: a model must at least beat that.
        metric, floor_value = "rmse", float(f"{floor:.4g}")
        notes.append(f"floor rmse {floor_value}: the target's standard deviation (mean guess)")
    elif classes:
        # Macro F1: every class counts alike whatever its share, as class_weight=balanced trains;
        # a guess by the class shares scores 1/k, so the floor is a fifth above that.
        metric, floor_value = "macro_f1", round(1.2 / len(classes), 3)
        notes.append(f"floor macro_f1 {floor_value}: a fifth above a guess (1/{len(classes)})")
    else:
        metric, floor_value = "roc_auc", CLASSIFICATION_FLOOR
    notes.append(describe(rows, days))
    spec = {
        "name": name,
        "description": f"{task.capitalize()} of {target!r} (scaffolded by airloop new-pipeline).",
        "task": task,
        "target": target,
        **({"classes": classes} if classes else
           {"positive_class": positive_class} if task == "classification" else {}),
        "key": key,
        **({"time_column": time_column} if time_column else {}),
        "features": features,
        "exclude_features": exclude,
        "schedule": None,
        "start_date": start_date,
        "source": source,
        "validation": {"max_failing_fraction": 0.1},
        "training": {
            "window_days": days.window_days, "holdout_days": days.holdout_days,
            "min_rows": min_rows,
            "estimator": estimator, "params": params, "categorical_features": categorical,
            "reference_sample_rows": 5000,
        },
        "promotion": {
            "metric": metric, "floor": floor_value, "min_improvement": 0.01, "tolerance": 0.0,
            "confidence": 0.95, "bootstrap_resamples": 1000, "slices": slices,
            "slice_tolerance": 0.1, "approval": "none",
        },
        "monitoring": {
            "columns": features[:30], "stattests": STATTESTS, "false_alarms_per_90_days": 1,
            "window_days": days.monitor_days,
            "sample_rows": 5000,
            "policy": {
                "mode": "act", "drift_share": 0.5, "persistence_k": 3, "persistence_n": 4,
                "retry_days": 7, "cooldown_days": 7, "max_retrains": 2, "budget_days": 30,
                "initial_min_days": initial,
            },
        },
        "notify": {"kind": "log"},
    }  # fmt: skip
    PipelineSpec.model_validate(spec)  # a scaffold that does not load is a bug here, not theirs
    return spec


def render(spec: dict[str, Any], data_name: str, notes: list[str]) -> str:
    """The spec as YAML, headed by what was inferred from which file."""
    header = [
        f"# {spec['name']}: scaffolded from {data_name} by `airloop new-pipeline`.",
        "# Review before relying on it. What was inferred, and why:",
        *(f"#   - {n}" for n in notes),
        "# Replayed file: no schedule; `airloop run` (or the ingest DAG's form) picks the days.",
        '# A live source would say schedule: "@daily".',
    ]
    body = yaml.safe_dump(spec, sort_keys=False, default_flow_style=None, width=100)
    return "\n".join(header) + "\n" + body
