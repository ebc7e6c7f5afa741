"""The DAG factory: a pipeline spec in, the pipeline's DAGs out (keyed by dag_id)."""

from __future__ import annotations

from airflow.sdk import DAG, get_parsing_context

from airloop.airflow import ingest, monitor, reconcile, rollback, score, train
from airloop.spec import load_pipeline

BUILDERS = {"ingest": ingest.build, "train": train.build, "rollback": rollback.build,
            "score": score.build, "monitor": monitor.build,
            "reconcile": reconcile.build}  # fmt: skip


def build_pipeline_dags(pipeline: str) -> dict[str, DAG]:
    """All DAGs of ``pipeline``, for ``globals().update(...)`` in a thin DAG file.

    A task process parses the file only to find its own DAG: Airflow's parsing context names
    it, and only that DAG is built (Airflow's advice for files that generate several DAGs):
    one DAG instead of five, in every task process of the loop.
    """
    spec = load_pipeline(pipeline)
    stages = ["ingest", "reconcile"] if spec.promotion is None else list(BUILDERS)
    wanted = get_parsing_context().dag_id
    only = [s for s in stages if spec.dag_id(s) == wanted]
    return {spec.dag_id(s): BUILDERS[s](spec) for s in only or stages}
