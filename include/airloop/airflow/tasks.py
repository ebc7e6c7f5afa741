"""Airloop's task library: the TaskFlow tasks the generated DAGs are made of, for custom DAGs.

Each task takes the pipeline name and reads its spec at run time, so any DAG can reuse them;
call ``.override(task_id=...)`` to use one several times. Run-time inputs come from the DAG's
params where a task needs them (``date``; ``days`` for reports). See README, "Write a custom
DAG with the task library", and ``dags/champion_history_report.py``.
"""

from __future__ import annotations

from airloop.airflow.history import champion_history
from airloop.airflow.ingest import land_raw, quarantine_batch, validate_batch
from airloop.airflow.monitor import apply_policy, measure_drift
from airloop.airflow.train import evaluate_challenger, train_challenger


def pipelines(with_models: bool = True) -> list[str]:
    """Names of the project's pipelines (those with a promotion policy, by default); cheap
    enough for DAG parse time (YAML only)."""
    from airloop.spec import load_spec_file, pipelines_dir

    specs = [load_spec_file(p) for p in sorted(pipelines_dir().glob("*.yaml"))]
    return [s.name for s in specs if s.promotion is not None or not with_models]


__all__ = [
    "apply_policy", "champion_history", "evaluate_challenger", "land_raw", "measure_drift",
    "pipelines", "quarantine_batch", "train_challenger", "validate_batch",
]  # fmt: skip
