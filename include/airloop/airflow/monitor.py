"""The monitor DAG: Evidently reports against the champion's reference → the drift policy.

measure_drift (reports in the lake and MLflow) → apply_policy (day record, index page, and on the
days it asks for training, a retrain-request Asset event that starts the train DAG).
"""

from __future__ import annotations

import logging
from typing import Any

from airflow.sdk import DAG, get_current_context, task

from airloop.airflow import assets
from airloop.airflow.defaults import optional_date_param, pipeline_dag
from airloop.airflow.links import push_links
from airloop.airflow.notify import notify
from airloop.spec import PipelineSpec

log = logging.getLogger(__name__)


@task
def measure_drift(pipeline: str) -> list[dict[str, Any]]:
    """Data drift, prediction drift and (with labels) quality vs the champion's reference."""
    from airloop.airflow.links import mlflow_run_url
    from airloop.airflow.runtime import run_dates
    from airloop.core.monitor import steps as monitor_steps
    from airloop.project import open_pipeline

    context = get_current_context()
    measured = monitor_steps.measure_days(open_pipeline(pipeline), run_dates(context))
    for m in measured:
        if m.drift is None:
            if m.champion is None:
                log.warning("%s has no champion: no reference to compare with yet", pipeline)
            continue
        log.info(
            "%s %s vs champion v%s: drift share %.2f, drifted %s, prediction drift %s, "
            "quality %s (%d of %d rows sampled, %.1f s)",
            pipeline, m.date, m.champion, m.drift["drift_share"], m.drift["drifted_columns"],
            m.drift["prediction_drift"], m.drift["quality"], m.drift["current_rows"],
            m.drift["current_rows_total"], m.drift["compute_seconds"],
        )  # fmt: skip
    last = next((m for m in reversed(measured) if m.mlflow), None)
    if last and last.mlflow:
        url = mlflow_run_url(last.mlflow["experiment_id"], last.mlflow["run_id"])
        push_links(context, {"Evidently report": url, "MLflow run": url})
    return [m.to_record() for m in measured]


@task
def apply_policy(pipeline: str, measured: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Decide per date (pure policy), record the request, commit the day and the index page.

    With ``retrain_requests_made(pipeline)`` among its outlets (the generated monitor DAG sets
    it), a retrain request is also announced as an Asset event, which starts the train DAG.
    """
    from airloop.core.monitor import monitoring
    from airloop.core.monitor import steps as monitor_steps
    from airloop.project import open_pipeline

    context = get_current_context()
    days = [monitor_steps.DayMeasurement.from_record(m) for m in measured]
    outcome = monitor_steps.apply_policy(open_pipeline(pipeline), days, context["run_id"])
    for d in outcome.decisions:
        log.info("%s %s: %s — %s", pipeline, d.date, d.action, d.reason)
        if d.action != "none" and d.kind == "drift":
            links = {"Evidently report": (d.reports or {}).get("drift.html")}
            notify(pipeline, "drift", f"{d.date}: {d.reason}", links, context)
    log.info("Report index: %s", outcome.index)
    to_request = outcome.retrain_requests
    requests_made = assets.retrain_requests_made(pipeline)
    if to_request and requests_made in (context["task"].outlets or []):
        extra = monitoring.request_event(to_request[-1])
        # Announced by this task through an AssetAlias: a separate task with the Asset as its
        # outlet cost a task process every day, only to skip itself on most days. Airflow
        # publishes the event only when the task succeeds, after the request and day record.
        context["outlet_events"][requests_made].add(assets.retrain_request(pipeline), extra=extra)
        log.info("Retrain requested: %s", extra)
    return to_request


def build(spec: PipelineSpec) -> DAG:
    """``<pipeline>__monitor``: after each scoring, or by hand for any date."""
    params = {"date": optional_date_param("Date", "Empty = the dates just scored")}
    description = f"Drift reports and the drift policy of {spec.name}"
    with pipeline_dag(spec, "monitor", description, assets.predictions(spec.name), params) as dag:
        dag.doc_md = __doc__
        announcing = apply_policy.override(outlets=[assets.retrain_requests_made(spec.name)])
        announcing(spec.name, measure_drift(spec.name))
    return dag
