"""The score DAG: each new validated partition → predictions by ``models:/<pipeline>@champion``."""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import DAG, get_current_context, task

from airloop.airflow import assets
from airloop.airflow.defaults import optional_date_param, pipeline_dag
from airloop.airflow.links import push_links
from airloop.spec import PipelineSpec

log = logging.getLogger(__name__)


def _score_task(pipeline: str) -> Any:
    @task(task_id="score_partition", outlets=[assets.predictions(pipeline)])
    def score_partition(pipeline: str) -> list[dict[str, Any]]:
        """Resolve @champion once, score every date of this run, commit a predictions partition.

        Without a champion nothing is scored, but the Asset event still fires (``scored``
        false) so monitoring runs and can ask for the first model.
        """
        from airloop.airflow.links import mlflow_model_version_url
        from airloop.airflow.runtime import run_dates
        from airloop.core.model import scoring
        from airloop.project import open_pipeline

        context = get_current_context()
        days = run_dates(context)
        scored = scoring.score_days(open_pipeline(pipeline), days, context["run_id"])
        event = context["outlet_events"][assets.predictions(pipeline)]
        dates = [d.isoformat() for d in days]
        if scored.version is None:
            log.warning("%s has no champion yet: nothing scored for %s", pipeline, days)
            event.extra = {"date": dates[-1], "scored": False, "dates": dates}
            return []
        for manifest in scored.days:
            log.info(
                "Scored %s: %d rows with v%s → %s%s",
                manifest["date"], manifest["rows"], scored.version, manifest["uri"],
                " (unchanged, reused)" if manifest["reused"] else "",
            )  # fmt: skip
        push_links(context, {"Model version": mlflow_model_version_url(pipeline, scored.version)})
        event.extra = {"date": dates[-1], "scored": True, "model_version": scored.version,
                       "dates": dates}  # fmt: skip
        return [{k: m[k] for k in ("date", "rows", "uri", "model_version")} for m in scored.days]

    return score_partition


def build(spec: PipelineSpec) -> DAG:
    """``<pipeline>__score``: runs when ingest publishes a partition, or by hand for a date."""
    params = {"date": optional_date_param("Partition date", "Empty = the triggering partitions")}
    description = f"Score {spec.name} partitions with the champion"
    with pipeline_dag(spec, "score", description, assets.validated(spec.name), params) as dag:
        dag.doc_md = __doc__
        _score_task(spec.name)(spec.name)
    return dag
