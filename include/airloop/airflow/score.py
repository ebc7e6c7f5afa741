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
        from airloop.airflow.runtime import lake_root, run_dates
        from airloop.core import registry, scoring
        from airloop.core.lake import Lake
        from airloop.spec import load_pipeline

        context = get_current_context()
        spec = load_pipeline(pipeline)
        lake = Lake(lake_root(), spec.name)
        days = run_dates(context)
        # The alias is resolved once, so every row of this run carries the same version even
        # if a promotion lands meanwhile (it is picked up by the next run).
        version = registry.alias_version(spec.name, registry.CHAMPION)
        event = context["outlet_events"][assets.predictions(pipeline)]
        if version is None:
            log.warning("%s has no champion yet: nothing scored for %s", spec.name, days)
            event.extra = {"date": days[-1].isoformat(), "scored": False,
                           "dates": [d.isoformat() for d in days]}  # fmt: skip
            return []
        run_id = (registry.version_info(spec.name, version) or {})["run_id"]
        model: list[Any] = []

        def load() -> Any:  # only when something needs scoring (reruns reuse the partition)
            if not model:
                model.append(registry.load_model(spec.name, version))
            return model[0]

        done = []
        for day in days:
            manifest = scoring.score_day(
                lake, spec, day, version, run_id, load, context["run_id"]
            )  # fmt: skip
            log.info(
                "Scored %s: %d rows with v%s → %s%s",
                day, manifest["rows"], version, manifest["uri"],
                " (unchanged, reused)" if manifest["reused"] else "",
            )  # fmt: skip
            done.append({k: manifest[k] for k in ("date", "rows", "uri", "model_version")})
        push_links(context, {"Model version": mlflow_model_version_url(spec.name, version)})
        event.extra = {"date": days[-1].isoformat(), "scored": True, "model_version": version,
                       "dates": [d.isoformat() for d in days]}  # fmt: skip
        return done

    return score_partition


def build(spec: PipelineSpec) -> DAG:
    """``<pipeline>__score``: runs when ingest publishes a partition, or by hand for a date."""
    params = {"date": optional_date_param("Partition date", "Empty = the triggering partitions")}
    description = f"Score {spec.name} partitions with the champion"
    with pipeline_dag(spec, "score", description, assets.validated(spec.name), params) as dag:
        dag.doc_md = __doc__
        _score_task(spec.name)(spec.name)
    return dag
