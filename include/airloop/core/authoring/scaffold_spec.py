"""The defaults of a scaffolded spec per task type, and its YAML with the reasons as comments."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import yaml

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
STATTESTS = {"num_method": "wasserstein", "num_threshold": 0.1,
             "cat_method": "jensenshannon", "cat_threshold": 0.1}  # fmt: skip


def _windows(rows_per_day: float, min_rows: int) -> dict[str, int]:
    """Day counts that give every stage enough rows, however sparse the data.

    The holdout needs ~30 rows, and training shortens it to a quarter of the days present, so
    the first model waits for four holdouts' worth of days and ``min_rows`` training rows.
    """
    rpd = max(rows_per_day, 1e-9)
    min_rows = int(min(min_rows, max(20, rpd * 20)))  # a daily series cannot wait for 200 days
    holdout = math.ceil(30 / rpd)
    initial = max(5, math.ceil(min_rows / rpd) + holdout, 4 * holdout)
    return {
        "min_rows": min_rows, "holdout_days": max(3, holdout), "initial_min_days": initial,
        "window_days": max(28, initial + 7), "monitor_days": max(7, math.ceil(100 / rpd)),
    }  # fmt: skip


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
    rows_per_day: float,
    floor: float | None,
    slices: list[str],
    min_rows: int,
    notes: list[str],
) -> dict[str, Any]:
    """A complete spec dict; validated with :class:`airloop.spec.PipelineSpec` before return."""
    from airloop.spec import PipelineSpec

    estimator, params = ESTIMATORS[task]
    days = _windows(rows_per_day, min_rows)
    min_rows, initial = days["min_rows"], days["initial_min_days"]
    if task == "regression":
        # The RMSE of always predicting the mean: a model must at least beat that.
        metric, floor_value = "rmse", float(f"{floor:.4g}")
        notes.append(f"floor rmse {floor_value}: the target's standard deviation (mean guess)")
    else:
        metric, floor_value = "roc_auc", CLASSIFICATION_FLOOR
    notes.append(f"first model after {initial} days (~{rows_per_day:.0f} rows a day, "
                 f"min_rows {min_rows})")  # fmt: skip
    spec = {
        "name": name,
        "description": f"{task.capitalize()} of {target!r} (scaffolded by airloop new-pipeline).",
        "task": task,
        "target": target,
        **({"positive_class": positive_class} if task == "classification" else {}),
        "key": key,
        **({"time_column": time_column} if time_column else {}),
        "features": features,
        "exclude_features": exclude,
        "schedule": None,
        "start_date": start_date,
        "source": source,
        "validation": {"max_failing_fraction": 0.1},
        "training": {
            "window_days": days["window_days"], "holdout_days": days["holdout_days"],
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
            "columns": features[:30], "stattests": STATTESTS,
            "window_days": days["monitor_days"],
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
