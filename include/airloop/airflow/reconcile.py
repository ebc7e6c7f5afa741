"""The reconcile DAG: announce again what a lost Asset event left undone; sweep temp files.

Airflow can drop a queued Asset event (apache/airflow#56050). The lake records what each stage
finished, so this DAG compares its zones (``core.reconcile``) and re-emits the missing events:
``validated`` for a day neither scored nor monitored, ``predictions`` for a day scored but not
monitored, ``retrain_request`` for a request nobody claimed. Their consumers are idempotent, so a
duplicate never does the work twice.
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import DAG, get_current_context, task

from airloop.airflow import assets
from airloop.airflow.defaults import pipeline_dag
from airloop.spec import PipelineSpec

log = logging.getLogger(__name__)
ACTIVE = ["queued", "running"]


def _days_extra(days: list[str]) -> dict[str, Any]:
    # The shape the consumers read (runtime.run_dates): one event stands for every day.
    return {"date": days[-1], "dates": days, "reconciled": True}


@task(multiple_outputs=False)
def reconcile(pipeline: str) -> dict[str, Any]:
    """Find stalled days and unclaimed requests, announce them again, remove stale temp files.

    A kind is left for the next run while its consumer DAG has a queued or running run: that
    run may be doing the work right now.
    """
    from airloop.core.data.reconcile import Stalled, find_stalled
    from airloop.core.data.storage import sweep_temp
    from airloop.core.monitor import monitoring
    from airloop.project import open_pipeline

    context = get_current_context()
    opened, ti = open_pipeline(pipeline), context["ti"]
    spec, lake = opened.spec, opened.lake
    settings = spec.reconcile
    clock = context["dag_run"].run_after.timestamp()  # the run's time: a rerun decides alike
    swept = sweep_temp(lake.base, settings.temp_max_age_minutes * 60, clock)
    stalled = Stalled()
    if spec.promotion is not None:  # ingest-only pipelines have no consumers to re-trigger
        stalled = find_stalled(lake, clock - settings.grace_minutes * 60, settings.lookback_days)

    def idle(stage: str) -> bool:
        active = ti.get_dr_count(dag_id=spec.dag_id(stage), states=ACTIVE)
        if active:
            log.info("%s has %d active run(s): its stalled work waits a run", stage, active)
        return not active

    events = context["outlet_events"][assets.reconciled(pipeline)]
    announced: dict[str, Any] = {"swept_temp_files": swept, "stalled": stalled.summary()}
    if stalled.unscored and idle("score"):
        days = [d.isoformat() for d in stalled.unscored]
        events.add(assets.validated(pipeline), extra=_days_extra(days))
        announced["validated"] = days
    if stalled.unmonitored and idle("monitor"):
        days = [d.isoformat() for d in stalled.unmonitored]
        events.add(assets.predictions(pipeline), extra={**_days_extra(days), "scored": True})
        announced["predictions"] = days
    if stalled.unclaimed and idle("train"):
        for request in stalled.unclaimed:
            events.add(assets.retrain_request(pipeline),
                       extra={**monitoring.request_event(request), "reconciled": True})  # fmt: skip
        announced["retrain_request"] = [r["key"] for r in stalled.unclaimed]
    log.info("Reconciled %s: %s", spec.name, announced)
    return announced


def build(spec: PipelineSpec) -> DAG:
    """``<pipeline>__reconcile``: on ``reconcile.schedule`` (hourly by default), or by hand."""
    description = f"Re-announce work of {spec.name} that a lost Asset event left undone"
    with pipeline_dag(spec, "reconcile", description, spec.reconcile.schedule, {}) as dag:
        dag.doc_md = __doc__
        reconcile.override(outlets=[assets.reconciled(spec.name)])(spec.name)
    return dag
