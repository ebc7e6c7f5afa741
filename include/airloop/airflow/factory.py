"""The DAG factory: a pipeline spec in, the pipeline's DAGs out (keyed by dag_id)."""

from __future__ import annotations

from airflow.sdk import DAG

from airloop.airflow import ingest, monitor, rollback, score, train
from airloop.spec import load_pipeline


def build_pipeline_dags(pipeline: str) -> dict[str, DAG]:
    """All DAGs of ``pipeline``, for ``globals().update(...)`` in a thin DAG file."""
    spec = load_pipeline(pipeline)
    dags = [ingest.build(spec)]
    if spec.promotion is not None:
        dags += [train.build(spec), rollback.build(spec), score.build(spec), monitor.build(spec)]
    return {dag.dag_id: dag for dag in dags}
